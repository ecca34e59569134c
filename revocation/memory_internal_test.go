package revocation

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestMemoryStoreDropsExpiredRecords(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s, err := NewMemoryStore(WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 10 {
		// Records expire one minute apart, in an order unlike their insertion.
		until := now.Add(time.Duration(1+(i*7)%10) * time.Minute)
		if err := s.Revoke(ctx, "alice", fmt.Sprint(i), until); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Rotate(ctx, "alice", "r", "r", "r2", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := len(s.records); got != 11 {
		t.Fatalf("%d records, want 11", got)
	}

	now = now.Add(5*time.Minute + time.Second)
	// Any write drops what has expired.
	if err := s.RevokeSubject(ctx, "bob", now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, want := len(s.records), 5+1+1; got != want || len(s.expiry) != want {
		t.Errorf("%d records, %d in the expiry heap, want %d", got, len(s.expiry), want)
	}
	for i, r := range s.expiry {
		if r.index != i {
			t.Errorf("heap entry %d has index %d", i, r.index)
		}
		if !r.until.After(now) {
			t.Errorf("expired record %v kept", r.key)
		}
	}
}
