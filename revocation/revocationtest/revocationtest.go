// Package revocationtest checks that an implementation of revocation.Store
// behaves as the Store contract says, so that every store, in memory or
// shared, refuses the same tokens.
//
//	func TestConformance(t *testing.T) {
//		revocationtest.TestStore(t, revocationtest.Harness{
//			New: func(t *testing.T) revocation.Store { return newStore(t) },
//		})
//	}
//
// The checks cover revocation by id and by subject, expiry of records,
// exactly-once MarkUsed under contention, cancelled contexts, and a
// manager.Manager rotating refresh tokens against the store.
package revocationtest

import (
	"context"
	"testing"
	"time"

	"github.com/protojwt/protojwt/revocation"
)

// Harness tells TestStore how to make and drive the store under test.
type Harness struct {
	// New returns an empty store for one test. Required.
	New func(t *testing.T) revocation.Store
	// Now is the store's clock. Nil means time.Now.
	Now func() time.Time
	// Sleep lets d pass on the store's clock: a fake clock advances, a real
	// one sleeps. Nil means time.Sleep.
	Sleep func(d time.Duration)
}

// ttl is the lifetime of the records that the expiry checks wait out: long
// enough for round trips to a store on a loaded machine, short enough to
// sleep through.
const ttl = time.Second

// TestStore runs the conformance checks on the stores h makes, each as a
// subtest of t.
func TestStore(t *testing.T, h Harness) {
	if h.New == nil {
		t.Fatal("revocationtest: Harness.New is required")
	}
	if h.Now == nil {
		h.Now = time.Now
	}
	if h.Sleep == nil {
		h.Sleep = time.Sleep
	}
	for _, c := range []struct {
		name string
		test func(*testing.T, Harness)
	}{
		{"RevokeID", testRevokeID},
		{"RevokeSubject", testRevokeSubject},
		{"Expiry", testExpiry},
		{"LaterUntilKept", testLaterUntilKept},
		{"UntilPassed", testUntilPassed},
		{"MarkUsedOnce", testMarkUsedOnce},
		{"ConcurrentMarkUsed", testConcurrentMarkUsed},
		{"ConcurrentRevokeAndCheck", testConcurrentRevokeAndCheck},
		{"CancelledContext", testCancelledContext},
		{"ManagerRevocation", testManagerRevocation},
		{"ManagerRotationRace", testManagerRotationRace},
	} {
		t.Run(c.name, func(t *testing.T) { c.test(t, h) })
	}
}

// revoked calls s.Revoked and fails t on an error.
func revoked(t *testing.T, s revocation.Store, subject string, ids []string, issuedAt time.Time) bool {
	t.Helper()
	got, err := s.Revoked(context.Background(), subject, ids, issuedAt)
	if err != nil {
		t.Fatalf("Revoked(%q, %q) error = %v", subject, ids, err)
	}
	return got
}

// markUsed calls s.MarkUsed and fails t on an error.
func markUsed(t *testing.T, s revocation.Store, subject, id string, until time.Time) bool {
	t.Helper()
	first, err := s.MarkUsed(context.Background(), subject, id, until)
	if err != nil {
		t.Fatalf("MarkUsed(%q, %q) error = %v", subject, id, err)
	}
	return first
}

func testRevokeID(t *testing.T, h Harness) {
	s := h.New(t)
	ctx := context.Background()
	now := h.Now()
	until := now.Add(time.Hour)
	if err := s.Revoke(ctx, "alice", "jti-1", until); err != nil {
		t.Fatalf("Revoke() error = %v", err)
	}
	if err := s.Revoke(ctx, "", "jti-anon", until); err != nil {
		t.Fatalf("Revoke() of an empty subject error = %v", err)
	}
	tests := []struct {
		name    string
		subject string
		ids     []string
		want    bool
	}{
		{"revoked jti", "alice", []string{"jti-1"}, true},
		{"revoked family", "alice", []string{"jti-2", "jti-1"}, true},
		{"revoked jti, no family", "alice", []string{"jti-1", ""}, true},
		{"empty subject", "", []string{"jti-anon"}, true},
		{"other id", "alice", []string{"jti-2"}, false},
		{"other ids", "alice", []string{"jti-2", "jti-3"}, false},
		{"same id, other subject", "bob", []string{"jti-1"}, false},
		{"id of the empty subject, named subject", "alice", []string{"jti-anon"}, false},
		{"prefix of the id", "alice", []string{"jti-"}, false},
		{"empty ids", "alice", []string{"", ""}, false},
		{"no ids", "alice", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := revoked(t, s, tt.subject, tt.ids, now); got != tt.want {
				t.Errorf("Revoked(%q, %q) = %v, want %v", tt.subject, tt.ids, got, tt.want)
			}
		})
	}
}

func testRevokeSubject(t *testing.T, h Harness) {
	s := h.New(t)
	ctx := context.Background()
	before := h.Now().Truncate(time.Second)
	until := before.Add(time.Hour)
	if err := s.RevokeSubject(ctx, "alice", before, until); err != nil {
		t.Fatalf("RevokeSubject() error = %v", err)
	}
	// An earlier cut-off does not move it back.
	if err := s.RevokeSubject(ctx, "alice", before.Add(-time.Minute), until); err != nil {
		t.Fatalf("RevokeSubject() error = %v", err)
	}
	tests := []struct {
		name     string
		subject  string
		issuedAt time.Time
		want     bool
	}{
		{"issued long before", "alice", before.Add(-24 * time.Hour), true},
		{"issued a second before", "alice", before.Add(-time.Second), true},
		{"issued at the cut-off", "alice", before, false},
		{"issued after", "alice", before.Add(time.Second), false},
		{"other subject", "bob", before.Add(-time.Second), false},
		{"empty subject", "", before.Add(-time.Second), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := revoked(t, s, tt.subject, []string{"some-jti"}, tt.issuedAt); got != tt.want {
				t.Errorf("Revoked(%q, issued %v) = %v, want %v", tt.subject, tt.issuedAt.Sub(before), got, tt.want)
			}
		})
	}

	// A later cut-off moves it forward.
	if err := s.RevokeSubject(ctx, "alice", before.Add(10*time.Second), until); err != nil {
		t.Fatalf("RevokeSubject() error = %v", err)
	}
	if !revoked(t, s, "alice", nil, before.Add(5*time.Second)) {
		t.Error("token issued before the later cut-off is not revoked")
	}
}

func testExpiry(t *testing.T, h Harness) {
	s := h.New(t)
	ctx := context.Background()
	now := h.Now()
	issued := now.Add(-time.Minute).Truncate(time.Second)
	if err := s.Revoke(ctx, "alice", "jti-1", now.Add(ttl)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeSubject(ctx, "bob", now, now.Add(ttl)); err != nil {
		t.Fatal(err)
	}
	if !markUsed(t, s, "alice", "refresh-1", now.Add(ttl)) {
		t.Fatal("first MarkUsed() = false")
	}
	if !revoked(t, s, "alice", []string{"jti-1"}, issued) || !revoked(t, s, "bob", nil, issued) {
		t.Fatal("records missing before they expire")
	}
	if markUsed(t, s, "alice", "refresh-1", now.Add(ttl)) {
		t.Fatal("second MarkUsed() = true before the mark expired")
	}

	h.Sleep(ttl + ttl/2)
	if revoked(t, s, "alice", []string{"jti-1"}, issued) {
		t.Error("revoked id kept after its until")
	}
	if revoked(t, s, "bob", nil, issued) {
		t.Error("revoked subject kept after its until")
	}
	if !markUsed(t, s, "alice", "refresh-1", h.Now().Add(ttl)) {
		t.Error("used mark kept after its until")
	}
}

func testLaterUntilKept(t *testing.T, h Harness) {
	s := h.New(t)
	ctx := context.Background()
	now := h.Now()
	issued := now.Add(-time.Minute).Truncate(time.Second)
	// Short then long, and long then short: both last the longer.
	for _, step := range []struct {
		subject, id string
		until       time.Duration
	}{
		{"alice", "a", ttl}, {"alice", "a", time.Hour},
		{"alice", "b", time.Hour}, {"alice", "b", ttl},
	} {
		if err := s.Revoke(ctx, step.subject, step.id, now.Add(step.until)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RevokeSubject(ctx, "bob", now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeSubject(ctx, "bob", now, now.Add(ttl)); err != nil {
		t.Fatal(err)
	}
	h.Sleep(ttl + ttl/2)
	for _, id := range []string{"a", "b"} {
		if !revoked(t, s, "alice", []string{id}, issued) {
			t.Errorf("id %q: the shorter until replaced the longer one", id)
		}
	}
	if !revoked(t, s, "bob", nil, issued) {
		t.Error("subject: the shorter until replaced the longer one")
	}
}

func testUntilPassed(t *testing.T, h Harness) {
	s := h.New(t)
	ctx := context.Background()
	now := h.Now()
	past := now.Add(-time.Second)
	if err := s.Revoke(ctx, "alice", "jti-1", past); err != nil {
		t.Fatalf("Revoke() with a past until error = %v", err)
	}
	if err := s.RevokeSubject(ctx, "alice", now, past); err != nil {
		t.Fatalf("RevokeSubject() with a past until error = %v", err)
	}
	if revoked(t, s, "alice", []string{"jti-1"}, now.Add(-time.Hour)) {
		t.Error("a record whose until had passed was kept")
	}
	if markUsed(t, s, "alice", "refresh-1", past) {
		t.Error("MarkUsed() with a past until = true, want false")
	}
}

func testMarkUsedOnce(t *testing.T, h Harness) {
	s := h.New(t)
	until := h.Now().Add(time.Hour)
	steps := []struct {
		subject, id string
		want        bool
	}{
		{"alice", "r1", true},
		{"alice", "r1", false},
		{"alice", "r1", false},
		{"alice", "r2", true},
		{"bob", "r1", true},
		{"bob", "r1", false},
		{"", "r1", true},
	}
	for i, step := range steps {
		if got := markUsed(t, s, step.subject, step.id, until); got != step.want {
			t.Errorf("step %d: MarkUsed(%q, %q) = %v, want %v", i, step.subject, step.id, got, step.want)
		}
	}
	// A used mark is not a revocation.
	if revoked(t, s, "alice", []string{"r1"}, h.Now()) {
		t.Error("MarkUsed() revoked the token")
	}
}
