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
// exactly-once Rotate under contention, one record per login however often
// it rotates, cancelled contexts, and a manager.Manager rotating refresh
// tokens against the store.
package revocationtest

import (
	"context"
	"fmt"
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
	// Records returns the number of records s, a store New made, holds.
	// Nil skips the checks that count records.
	Records func(t *testing.T, s revocation.Store) int
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
		{"Rotate", testRotate},
		{"RotateSameToken", testRotateSameToken},
		{"ConcurrentRotate", testConcurrentRotate},
		{"RotationBounded", testRotationBounded},
		{"ConcurrentRevokeAndCheck", testConcurrentRevokeAndCheck},
		{"CancelledContext", testCancelledContext},
		{"ManagerRevocation", testManagerRevocation},
		{"ManagerRotationRace", testManagerRotationRace},
		{"ManagerRotationBounded", testManagerRotationBounded},
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

// rotate calls s.Rotate and fails t on an error.
func rotate(t *testing.T, s revocation.Store, subject, family, id, next string, until time.Time) bool {
	t.Helper()
	moved, err := s.Rotate(context.Background(), subject, family, id, next, until)
	if err != nil {
		t.Fatalf("Rotate(%q, %q, %q → %q) error = %v", subject, family, id, next, err)
	}
	return moved
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
	if !rotate(t, s, "alice", "login-1", "login-1", "refresh-2", now.Add(ttl)) {
		t.Fatal("first Rotate() = false")
	}
	if !revoked(t, s, "alice", []string{"jti-1"}, issued) || !revoked(t, s, "bob", nil, issued) {
		t.Fatal("records missing before they expire")
	}
	if rotate(t, s, "alice", "login-1", "login-1", "refresh-3", now.Add(ttl)) {
		t.Fatal("second Rotate() from the same token = true before the family expired")
	}

	h.Sleep(ttl + ttl/2)
	if revoked(t, s, "alice", []string{"jti-1"}, issued) {
		t.Error("revoked id kept after its until")
	}
	if revoked(t, s, "bob", nil, issued) {
		t.Error("revoked subject kept after its until")
	}
	if !rotate(t, s, "alice", "login-1", "login-1", "refresh-4", h.Now().Add(ttl)) {
		t.Error("family record kept after its until")
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
	// A family rotated with a long until, then a short one, lasts the longer.
	if !rotate(t, s, "carol", "login", "login", "r1", now.Add(time.Hour)) ||
		!rotate(t, s, "carol", "login", "r1", "r2", now.Add(ttl)) {
		t.Fatal("Rotate() = false along the family")
	}
	h.Sleep(ttl + ttl/2)
	if rotate(t, s, "carol", "login", "login", "r3", h.Now().Add(time.Hour)) {
		t.Error("family: the shorter until replaced the longer one")
	}
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
	if rotate(t, s, "alice", "login-1", "login-1", "refresh-2", past) {
		t.Error("Rotate() with a past until = true, want false")
	}
	if !rotate(t, s, "alice", "login-1", "login-1", "refresh-3", now.Add(time.Hour)) {
		t.Error("Rotate() with a past until recorded the rotation")
	}
}

func testRotate(t *testing.T, h Harness) {
	s := h.New(t)
	until := h.Now().Add(time.Hour)
	steps := []struct {
		name                      string
		subject, family, id, next string
		want                      bool
	}{
		{"first refresh token of the login", "alice", "login", "login", "r1", true},
		{"first refresh token again", "alice", "login", "login", "x1", false},
		{"current token", "alice", "login", "r1", "r2", true},
		{"replaced token", "alice", "login", "r1", "x2", false},
		{"first refresh token, later", "alice", "login", "login", "x3", false},
		{"a token the family never had", "alice", "login", "forged", "x4", false},
		{"token that lost a race", "alice", "login", "x1", "x5", false},
		{"current token after refusals", "alice", "login", "r2", "r3", true},
		{"same family id, other subject", "bob", "login", "login", "b1", true},
		{"other login of the subject", "alice", "login-2", "login-2", "s1", true},
		{"empty subject", "", "login", "login", "e1", true},
		{"empty subject, replaced token", "", "login", "login", "e2", false},
		{"prefix of the family", "alice", "log", "r3", "x6", true},
	}
	for _, step := range steps {
		if got := rotate(t, s, step.subject, step.family, step.id, step.next, until); got != step.want {
			t.Errorf("%s: Rotate(%q, %q, %q → %q) = %v, want %v", step.name, step.subject, step.family, step.id, step.next, got, step.want)
		}
	}
	// A rotation is not a revocation.
	for _, id := range []string{"login", "r1", "r3", "x1"} {
		if revoked(t, s, "alice", []string{id}, h.Now()) {
			t.Errorf("Rotate() revoked %q", id)
		}
	}
}

func testRotateSameToken(t *testing.T, h Harness) {
	s := h.New(t)
	until := h.Now().Add(time.Hour)
	// Rotating to the token rotated from would let every racer win.
	if moved, err := s.Rotate(context.Background(), "alice", "login", "login", "login", until); err == nil || moved {
		t.Errorf("Rotate(login → login) = %v, %v; want an error", moved, err)
	}
	if !rotate(t, s, "alice", "login", "login", "r1", until) {
		t.Error("a refused Rotate() changed the family")
	}
	if moved, err := s.Rotate(context.Background(), "alice", "login", "r1", "r1", until); err == nil || moved {
		t.Errorf("Rotate(r1 → r1) = %v, %v; want an error", moved, err)
	}
	if !rotate(t, s, "alice", "login", "r1", "r2", until) {
		t.Error("a refused Rotate() changed the family")
	}
}

// rotations is how many times testRotationBounded rotates one family.
const rotations = 1_000

func testRotationBounded(t *testing.T, h Harness) {
	s := h.New(t)
	ctx := context.Background()
	now := h.Now()
	until := now.Add(time.Hour)
	issued := now.Add(-time.Minute).Truncate(time.Second)
	var before int
	if h.Records != nil {
		before = h.Records(t, s)
	}
	current := "login"
	for i := range rotations {
		next := fmt.Sprint("r", i)
		if !rotate(t, s, "mallory", "login", current, next, until) {
			t.Fatalf("rotation %d refused", i)
		}
		current = next
	}
	if h.Records != nil {
		if n := h.Records(t, s) - before; n > 1 {
			t.Errorf("%d rotations of one login left %d records, want 1", rotations, n)
		}
	}
	// The family is still guarded, and everyone else is still served.
	if rotate(t, s, "mallory", "login", "r0", "again", until) {
		t.Error("Rotate() from an old token after many rotations = true")
	}
	if err := s.Revoke(ctx, "alice", "jti-1", until); err != nil {
		t.Errorf("Revoke() after many rotations: error = %v", err)
	}
	if err := s.RevokeSubject(ctx, "bob", now, until); err != nil {
		t.Errorf("RevokeSubject() after many rotations: error = %v", err)
	}
	if !rotate(t, s, "carol", "login", "login", "c1", until) {
		t.Error("Rotate() of another login after many rotations = false")
	}
	if !revoked(t, s, "alice", []string{"jti-1"}, issued) || !revoked(t, s, "bob", nil, issued) {
		t.Error("revocations after many rotations were not kept")
	}
}
