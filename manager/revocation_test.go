package manager

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/protojwt/protojwt/revocation"
)

// movableClock is a test clock that starts at testNow and moves when told.
type movableClock struct{ nanos atomic.Int64 }

func newMovableClock() *movableClock {
	c := &movableClock{}
	c.nanos.Store(testNow.UnixNano())
	return c
}

func (c *movableClock) now() time.Time      { return time.Unix(0, c.nanos.Load()).UTC() }
func (c *movableClock) add(d time.Duration) { c.nanos.Add(int64(d)) }

// newRevocationManager returns an HS256 Manager and the memory store it
// consults, both on clock.
func newRevocationManager(t *testing.T, clock *movableClock, cfg Config, opts ...Option) (*Manager, *revocation.MemoryStore) {
	t.Helper()
	store, err := revocation.NewMemoryStore(revocation.WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Algorithm, cfg.Secret = "HS256", testSecret
	opts = append([]Option{WithRevocation(store), WithClock(clock.now)}, opts...)
	return newTestManager(t, cfg, opts...), store
}

// stubStore is a revocation.Store whose methods return the errors set, or
// else call the wrapped store. It counts the calls of Revoked.
type stubStore struct {
	revocation.Store
	revokeErr, revokedErr, markErr error
	revokedCalls                   atomic.Int32
}

func (s *stubStore) Revoke(ctx context.Context, subject, id string, until time.Time) error {
	if s.revokeErr != nil {
		return s.revokeErr
	}
	return s.Store.Revoke(ctx, subject, id, until)
}

func (s *stubStore) RevokeSubject(ctx context.Context, subject string, before, until time.Time) error {
	if s.revokeErr != nil {
		return s.revokeErr
	}
	return s.Store.RevokeSubject(ctx, subject, before, until)
}

func (s *stubStore) Revoked(ctx context.Context, subject string, ids []string, issuedAt time.Time) (bool, error) {
	s.revokedCalls.Add(1)
	if s.revokedErr != nil {
		return false, s.revokedErr
	}
	return s.Store.Revoked(ctx, subject, ids, issuedAt)
}

func (s *stubStore) Rotate(ctx context.Context, subject, family, id, next string, until time.Time) (bool, error) {
	if s.markErr != nil {
		return false, s.markErr
	}
	return s.Store.Rotate(ctx, subject, family, id, next, until)
}

// newStubStore returns a stubStore over an empty memory store on clock.
func newStubStore(t *testing.T, clock *movableClock) *stubStore {
	t.Helper()
	mem, err := revocation.NewMemoryStore(revocation.WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	return &stubStore{Store: mem}
}

var errStoreDown = errors.New("store down")

func TestVerifyRevoked(t *testing.T) {
	clock := newMovableClock()
	m, _ := newRevocationManager(t, clock, Config{Leeway: 30 * time.Second})
	ctx := context.Background()
	issue := func(sub string) *Token {
		t.Helper()
		tok, err := m.AuthToken(sub, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	login, err := m.RefreshToken("alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	rotatedAuth, rotatedRefresh, err := m.RotateRefreshToken(ctx, login.Signed, nil)
	if err != nil {
		t.Fatal(err)
	}
	revokedAuth, keptAuth, otherLogin := issue("alice"), issue("alice"), issue("bob")
	if err := m.Revoke(ctx, revokedAuth); err != nil {
		t.Fatalf("Revoke() error = %v", err)
	}
	if err := m.Revoke(ctx, rotatedRefresh); err != nil {
		t.Fatalf("Revoke() error = %v", err)
	}
	before := issue("carol")
	if err := m.RevokeSubject(ctx, "carol"); err != nil {
		t.Fatalf("RevokeSubject() error = %v", err)
	}
	clock.add(31 * time.Second) // past the second of the sign-out and the leeway
	after := issue("carol")

	tests := []struct {
		name    string
		tok     *Token
		wantErr error
	}{
		{"revoked auth token", revokedAuth, ErrRevoked},
		{"revoked refresh token", rotatedRefresh, ErrRevoked},
		{"auth token of the revoked refresh token's login", rotatedAuth, ErrRevoked},
		{"first refresh token of that login", login, ErrRevoked},
		{"token of a subject revoked later", before, ErrRevoked},
		{"other token of the same subject", keptAuth, nil},
		{"token of another subject", otherLogin, nil},
		{"token issued after the subject was revoked", after, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.Verify(ctx, tt.tok.Signed)
			if tt.wantErr == nil {
				if err != nil || got == nil {
					t.Fatalf("Verify() = %v, %v; want the token", got, err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || got != nil {
				t.Fatalf("Verify() = %v, %v; want %v", got, err, tt.wantErr)
			}
			if errors.Is(err, ErrRevocationUnavailable) {
				t.Errorf("Verify() error %v says the store is unavailable", err)
			}
			assertNoTokenText(t, err, tt.tok.Signed)
		})
	}

	// A revoked token stays refused through the leeway after its exp.
	clock.add(m.signer.authMaxAge + 20*time.Second - 31*time.Second) // exp + 20 s: the clock moved 31 s above
	if _, err := m.Verify(ctx, revokedAuth.Signed); !errors.Is(err, ErrRevoked) {
		t.Errorf("Verify() within the leeway after exp: error = %v, want ErrRevoked", err)
	}
}

func TestVerifyWithFailingStore(t *testing.T) {
	clock := newMovableClock()
	signer := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret}, WithClock(clock.now))
	tok, err := signer.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	t.Run("fails closed by default", func(t *testing.T) {
		store := newStubStore(t, clock)
		store.revokedErr = errStoreDown
		m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret}, WithClock(clock.now), WithRevocation(store))
		got, err := m.Verify(ctx, tok.Signed)
		if got != nil || !errors.Is(err, ErrRevocationUnavailable) || !errors.Is(err, errStoreDown) {
			t.Fatalf("Verify() = %v, %v; want ErrRevocationUnavailable wrapping the store's error", got, err)
		}
		if errors.Is(err, ErrRevoked) {
			t.Errorf("Verify() error %v claims the token is revoked", err)
		}
	})

	t.Run("fails open when configured", func(t *testing.T) {
		store := newStubStore(t, clock)
		store.revokedErr = errStoreDown
		var reported []error
		var mu sync.Mutex
		m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret}, WithClock(clock.now), WithRevocation(store),
			WithRevocationFailOpen(func(err error) {
				mu.Lock()
				defer mu.Unlock()
				reported = append(reported, err)
			}))
		if got, err := m.Verify(ctx, tok.Signed); err != nil || got == nil {
			t.Fatalf("Verify() = %v, %v; want the token", got, err)
		}
		if len(reported) != 1 || !errors.Is(reported[0], ErrRevocationUnavailable) || !errors.Is(reported[0], errStoreDown) {
			t.Errorf("reported %v, want one error wrapping ErrRevocationUnavailable and the store's", reported)
		}
		// Nothing else fails open.
		if err := m.Revoke(ctx, tok); err != nil {
			t.Fatalf("Revoke() error = %v", err)
		}
		store.markErr = errStoreDown
		if _, _, err := m.RotateRefreshToken(ctx, mustRefresh(t, m), nil); !errors.Is(err, ErrRevocationUnavailable) || !errors.Is(err, errStoreDown) {
			t.Errorf("RotateRefreshToken() with a failing store: error = %v, want ErrRevocationUnavailable", err)
		}
	})

	t.Run("nil report", func(t *testing.T) {
		store := newStubStore(t, clock)
		store.revokedErr = errStoreDown
		m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret}, WithClock(clock.now), WithRevocation(store),
			WithRevocationFailOpen(nil))
		if _, err := m.Verify(ctx, tok.Signed); err != nil {
			t.Errorf("Verify() error = %v", err)
		}
	})
}

// mustRefresh returns a new signed refresh token of m.
func mustRefresh(t *testing.T, m *Manager) string {
	t.Helper()
	tok, err := m.RefreshToken("alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Signed
}

func TestVerifyAsksStoreOnlyForValidTokens(t *testing.T) {
	clock := newMovableClock()
	store := newStubStore(t, clock)
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret}, WithClock(clock.now), WithRevocation(store))
	valid, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	other := newTestManager(t, Config{Algorithm: "HS256", Secret: []byte("another-secret-of-at-least-32-bytes")})
	foreign, err := other.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	refused := map[string]string{
		"empty":          "",
		"garbage":        "not.a.token",
		"bad signature":  flipSignatureBit(t, valid.Signed),
		"other secret":   foreign.Signed,
		"expired":        craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"exp": testNow.Unix() - 10})),
		"wrong issuer":   craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"iss": "https://evil.test"})),
		"fam not string": craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"fam": 7})),
		"oversized":      strings.Repeat("a", defaultMaxTokenSize+1),
	}
	for name, signed := range refused {
		if _, err := m.Verify(context.Background(), signed); err == nil {
			t.Errorf("%s: Verify() accepted the token", name)
		}
	}
	if n := store.revokedCalls.Load(); n != 0 {
		t.Errorf("the store was asked %d times about tokens that do not verify", n)
	}
	if _, err := m.Verify(context.Background(), valid.Signed); err != nil {
		t.Fatal(err)
	}
	if n := store.revokedCalls.Load(); n != 1 {
		t.Errorf("the store was asked %d times about one valid token, want 1", n)
	}
}

func TestVerifyFamilyClaimType(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret})
	for _, fam := range []any{7, true, []any{"a"}, map[string]any{}, nil} {
		signed := craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"fam": fam}))
		if _, err := m.Verify(context.Background(), signed); !errors.Is(err, ErrMalformed) {
			t.Errorf("fam %v: Verify() error = %v, want ErrMalformed", fam, err)
		}
	}
	signed := craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"fam": "family-1"}))
	if _, err := m.Verify(context.Background(), signed); err != nil {
		t.Errorf("string fam: Verify() error = %v", err)
	}
}

func TestFamilyClaimReserved(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret})
	if tok, err := m.AuthToken("alice", nil, map[string]any{"fam": "x"}); !errors.Is(err, ErrReservedClaim) {
		t.Errorf("AuthToken() with a fam claim = %v, %v; want ErrReservedClaim", tok, err)
	}
	if tok, err := m.RefreshToken("alice", map[string]any{"fam": "x"}); !errors.Is(err, ErrReservedClaim) {
		t.Errorf("RefreshToken() with a fam claim = %v, %v; want ErrReservedClaim", tok, err)
	}
	// Login tokens carry no family: only rotation adds it.
	tok, err := m.RefreshToken("alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tok.Claims["fam"]; ok {
		t.Error("RefreshToken() set a fam claim")
	}
}

func TestRevokeRefusals(t *testing.T) {
	clock := newMovableClock()
	plain := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret})
	withStore, _ := newRevocationManager(t, clock, Config{})
	failing := newStubStore(t, clock)
	failing.revokeErr = errStoreDown
	withFailing := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret}, WithClock(clock.now), WithRevocation(failing))
	tok, err := plain.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	noID := *tok
	noID.ID = ""
	ctx := context.Background()

	tests := []struct {
		name    string
		call    func() error
		wantErr error
	}{
		{"Revoke without store", func() error { return plain.Revoke(ctx, tok) }, ErrConfig},
		{"RevokeSubject without store", func() error { return plain.RevokeSubject(ctx, "alice") }, ErrConfig},
		{"RotateRefreshToken without store", func() error {
			_, _, err := plain.RotateRefreshToken(ctx, mustRefresh(t, plain), nil)
			return err
		}, ErrConfig},
		{"Revoke nil token", func() error { return withStore.Revoke(ctx, nil) }, ErrNoToken},
		{"Revoke token without jti", func() error { return withStore.Revoke(ctx, &noID) }, ErrMalformed},
		{"Revoke, store down", func() error { return withFailing.Revoke(ctx, tok) }, ErrRevocationUnavailable},
		{"Revoke, store down, store's error", func() error { return withFailing.Revoke(ctx, tok) }, errStoreDown},
		{"RevokeSubject, store down", func() error { return withFailing.RevokeSubject(ctx, "alice") }, ErrRevocationUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, tt.wantErr) {
				t.Errorf("error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestRevokeNilContext(t *testing.T) {
	clock := newMovableClock()
	m, _ := newRevocationManager(t, clock, Config{})
	tok, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1012 a nil context must not panic
	if err := m.Revoke(nil, tok); err != nil {
		t.Fatalf("Revoke(nil ctx) error = %v", err)
	}
	//lint:ignore SA1012 a nil context must not panic
	if _, err := m.Verify(nil, tok.Signed); !errors.Is(err, ErrRevoked) {
		t.Errorf("Verify(nil ctx) error = %v, want ErrRevoked", err)
	}
}
