package httpauth

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/internal/bearer"
	"github.com/protojwt/protojwt/internal/denial"
	"github.com/protojwt/protojwt/manager"
)

// TestRefusalsAsBuilt checks the responses a Guard builds once against
// those it builds for one refusal: every reason of the denial table but
// those of a proof, every credential malformed as a request, under a realm
// that needs quoting; and that nothing is taken from the table for a
// refusal whose response depends on more than its reason.
func TestRefusalsAsBuilt(t *testing.T) {
	g := New(nil, WithRealm(`api "v2"`))
	cause := fmt.Errorf("manager: verify: x: %w", manager.ErrMalformed)
	var refusals []Error
	for reason, a := range denial.All() {
		refusals = append(refusals, Error{Status: a.Status, Reason: reason, Err: cause})
	}
	for _, re := range bearer.RequestErrors() {
		refusals = append(refusals, Error{Status: http.StatusBadRequest, Reason: protojwt.ReasonRequestMalformed, Err: re})
	}
	for _, e := range refusals {
		got, ok := g.refusals.of(&e)
		if want := !proofReason(e.Reason); ok != want {
			t.Fatalf("%s (%v): built once %v, want %v", e.Reason, e.Err, ok, want)
		}
		if !ok {
			continue
		}
		if want := g.buildResponse(&e); !reflect.DeepEqual(got, want) {
			t.Errorf("%s (%v): built once %+v\nfor the refusal %+v", e.Reason, e.Err, got, want)
		}
	}

	notFromTable := []struct {
		name string
		g    *Guard
		e    Error
	}{
		{"detailed errors", New(nil, WithDetailedErrors()), Error{Status: http.StatusUnauthorized, Reason: protojwt.ReasonTokenInvalid, Err: cause}},
		{"another status", g, Error{Status: http.StatusTeapot, Reason: protojwt.ReasonTokenInvalid, Err: cause}},
		{"proof refused", g, Error{Status: http.StatusUnauthorized, Reason: protojwt.ReasonProofInvalid, Err: cause}},
		{"request error of another reason", g, Error{Status: http.StatusUnauthorized, Reason: protojwt.ReasonTokenInvalid, Err: bearer.RequestErrors()[0]}},
		{"request error not of the parser", g, Error{Status: http.StatusBadRequest, Reason: protojwt.ReasonRequestMalformed, Err: &bearer.RequestError{Message: "other"}}},
	}
	for _, tt := range notFromTable {
		if _, ok := tt.g.refusals.of(&tt.e); ok {
			t.Errorf("%s: response taken from the table", tt.name)
		}
	}
}

// TestRefusalHeadersOwnValues checks that each refusal's header values are
// its own: changing or appending to one response's values leaves the next
// response, and the Guard's responses, as they were.
func TestRefusalHeadersOwnValues(t *testing.T) {
	g := New(nil)
	e := Error{Status: http.StatusUnauthorized, Reason: protojwt.ReasonTokenInvalid, Err: manager.ErrMalformed}
	first := &headerWriter{header: http.Header{}}
	g.writeError(first, &e)
	want := first.header.Clone()
	first.header["Www-Authenticate"][0] = "changed"
	first.header.Add("Content-Type", "text/plain")
	first.header["Cache-Control"] = append(first.header["Cache-Control"], "public")
	second := &headerWriter{header: http.Header{}}
	g.writeError(second, &e)
	if !reflect.DeepEqual(second.header, want) {
		t.Fatalf("second refusal's headers %v, want %v", second.header, want)
	}
	if got := first.header.Get("Www-Authenticate"); got != "changed" {
		t.Fatalf("first refusal's challenge %q after it was changed", got)
	}
}

// TestGarbageRefusalAllocations checks that refusing 8 KiB of random
// base64 allocates at most the one array of the response's header values.
func TestGarbageRefusalAllocations(t *testing.T) {
	m, err := manager.New(manager.Config{Algorithm: "HS256", Secret: []byte("0123456789abcdef0123456789abcdef"), Issuer: "https://issuer.test"})
	if err != nil {
		t.Fatal(err)
	}
	h := New(m).Require()(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("garbage reached the handler")
	}))
	garbage := make([]byte, 8<<10-2)
	for i := range garbage {
		garbage[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[(i*7919+i/3)%64]
	}
	garbage[2730], garbage[5460] = '.', '.'
	r, err := http.NewRequest(http.MethodGet, "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+string(garbage))
	w := &headerWriter{header: http.Header{}}
	n := testing.AllocsPerRun(50, func() { h.ServeHTTP(w, r) })
	if w.code != http.StatusUnauthorized || !strings.Contains(w.header.Get("Www-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("status %d, challenge %q", w.code, w.header.Get("Www-Authenticate"))
	}
	if n > 1 {
		t.Errorf("refusing garbage: %v allocations, want at most 1", n)
	}
}

// headerWriter is a ResponseWriter that keeps its headers and status.
type headerWriter struct {
	header http.Header
	code   int
}

func (w *headerWriter) Header() http.Header         { return w.header }
func (w *headerWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *headerWriter) WriteHeader(code int)        { w.code = code }

// TestNilGuardDeny checks that a nil Guard refuses as a Guard without a
// verifier does, without making one, and its refusals, on every call.
func TestNilGuardDeny(t *testing.T) {
	var g *Guard
	r, err := http.NewRequest(http.MethodGet, "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	w := &headerWriter{header: http.Header{}}
	g.Deny(w, r, manager.ErrExpired)
	if w.code != http.StatusUnauthorized || !strings.Contains(w.header.Get("Www-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("status %d, challenge %q", w.code, w.header.Get("Www-Authenticate"))
	}
	if n := testing.AllocsPerRun(20, func() { g.Deny(w, r, manager.ErrExpired) }); n > 1 {
		t.Errorf("a nil Guard's Deny: %v allocations, want at most 1", n)
	}
}
