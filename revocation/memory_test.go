package revocation_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/protojwt/protojwt/revocation"
	"github.com/protojwt/protojwt/revocation/revocationtest"
)

// fakeClock is a clock that moves only when told, safe for concurrent use.
type fakeClock struct{ nanos atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.nanos.Store(time.Unix(1_800_000_000, 0).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time                  { return time.Unix(0, c.nanos.Load()) }
func (c *fakeClock) Sleep(d time.Duration)           { c.nanos.Add(int64(d)) }
func (c *fakeClock) option() revocation.MemoryOption { return revocation.WithClock(c.Now) }

func newMemoryStore(t testing.TB, opts ...revocation.MemoryOption) *revocation.MemoryStore {
	t.Helper()
	s, err := revocation.NewMemoryStore(opts...)
	if err != nil {
		t.Fatalf("NewMemoryStore() error = %v", err)
	}
	return s
}

func TestMemoryStoreConformance(t *testing.T) {
	clock := newFakeClock()
	revocationtest.TestStore(t, revocationtest.Harness{
		New:     func(t *testing.T) revocation.Store { return newMemoryStore(t, clock.option()) },
		Now:     clock.Now,
		Sleep:   clock.Sleep,
		Records: memoryRecords,
	})
}

func TestMemoryStoreOnRealClock(t *testing.T) {
	revocationtest.TestStore(t, revocationtest.Harness{
		New:     func(t *testing.T) revocation.Store { return newMemoryStore(t) },
		Records: memoryRecords,
	})
}

// memoryRecords is Harness.Records for a MemoryStore.
func memoryRecords(_ *testing.T, s revocation.Store) int { return s.(*revocation.MemoryStore).Len() }

func TestNewMemoryStoreRefusesBadBound(t *testing.T) {
	for _, n := range []int{0, -1} {
		if s, err := revocation.NewMemoryStore(revocation.WithMaxEntries(n)); err == nil || s != nil {
			t.Errorf("NewMemoryStore(WithMaxEntries(%d)) = %v, %v; want an error", n, s, err)
		}
	}
	if _, err := revocation.NewMemoryStore(nil, revocation.WithClock(nil)); err != nil {
		t.Errorf("NewMemoryStore() with nil options: error = %v", err)
	}
}

func TestMemoryStoreBound(t *testing.T) {
	clock := newFakeClock()
	s := newMemoryStore(t, revocation.WithMaxEntries(3), clock.option())
	ctx := context.Background()
	now := clock.Now()
	issued := now.Add(-time.Minute)

	// Three records of three kinds fill the store.
	if err := s.Revoke(ctx, "alice", "short", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeSubject(ctx, "bob", now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if first, err := s.Rotate(ctx, "alice", "r1", "r1", "r2", now.Add(time.Hour)); err != nil || !first {
		t.Fatalf("Rotate() = %v, %v", first, err)
	}

	full := []struct {
		name string
		call func() error
	}{
		{"Revoke", func() error { return s.Revoke(ctx, "alice", "other", now.Add(time.Hour)) }},
		{"RevokeSubject", func() error { return s.RevokeSubject(ctx, "carol", now, now.Add(time.Hour)) }},
		{"Rotate", func() error {
			first, err := s.Rotate(ctx, "alice", "other-login", "other-login", "r2", now.Add(time.Hour))
			if first {
				return errors.New("reported true")
			}
			return err
		}},
	}
	for _, c := range full {
		t.Run("full/"+c.name, func(t *testing.T) {
			if err := c.call(); !errors.Is(err, revocation.ErrFull) {
				t.Errorf("%s() on a full store: error = %v, want ErrFull", c.name, err)
			}
		})
	}

	// Existing records still change, and none was forgotten.
	if err := s.Revoke(ctx, "alice", "short", now.Add(2*time.Minute)); err != nil {
		t.Errorf("Revoke() of a held id on a full store: error = %v", err)
	}
	if first, err := s.Rotate(ctx, "alice", "r1", "r2", "r3", now.Add(time.Hour)); err != nil || !first {
		t.Errorf("Rotate() of a held family on a full store = %v, %v; want true, nil", first, err)
	}
	if first, err := s.Rotate(ctx, "alice", "r1", "r1", "r4", now.Add(time.Hour)); err != nil || first {
		t.Errorf("Rotate() from a replaced token on a full store = %v, %v; want false, nil", first, err)
	}
	for _, c := range []struct {
		subject, id string
	}{{"alice", "short"}, {"bob", "any"}} {
		if got, err := s.Revoked(ctx, c.subject, []string{c.id}, issued); err != nil || !got {
			t.Errorf("Revoked(%q, %q) on a full store = %v, %v; want true", c.subject, c.id, got, err)
		}
	}

	// Once a record expires, its place is free.
	clock.Sleep(3 * time.Minute)
	if err := s.Revoke(ctx, "alice", "other", clock.Now().Add(time.Hour)); err != nil {
		t.Errorf("Revoke() after a record expired: error = %v", err)
	}
	if err := s.Revoke(ctx, "alice", "one-more", clock.Now().Add(time.Hour)); !errors.Is(err, revocation.ErrFull) {
		t.Errorf("Revoke() over the bound: error = %v, want ErrFull", err)
	}
}

func TestMemoryStoreBoundConcurrent(t *testing.T) {
	const bound, goroutines = 50, 100
	s := newMemoryStore(t, revocation.WithMaxEntries(bound))
	until := time.Now().Add(time.Hour)
	var stored, refused atomic.Int32
	var wg sync.WaitGroup
	for i := range goroutines {
		wg.Go(func() {
			first, err := s.Rotate(context.Background(), "alice", fmt.Sprint(i), fmt.Sprint(i), "next", until)
			switch {
			case errors.Is(err, revocation.ErrFull):
				refused.Add(1)
			case err != nil || !first:
				t.Errorf("Rotate(%d) = %v, %v", i, first, err)
			default:
				stored.Add(1)
			}
		})
	}
	wg.Wait()
	if stored.Load() != bound || refused.Load() != goroutines-bound {
		t.Errorf("stored %d and refused %d families, want %d and %d", stored.Load(), refused.Load(), bound, goroutines-bound)
	}
}

func BenchmarkMemoryStoreRevoked(b *testing.B) {
	s := newMemoryStore(b)
	ctx := context.Background()
	now := time.Now()
	for i := range 10_000 {
		if err := s.Revoke(ctx, "alice", fmt.Sprint(i), now.Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
	}
	ids := []string{"not-revoked", "family"}
	b.ReportAllocs()
	for b.Loop() {
		if revoked, err := s.Revoked(ctx, "alice", ids, now); err != nil || revoked {
			b.Fatal(revoked, err)
		}
	}
}
