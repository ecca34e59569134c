package introspection_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/protojwt/protojwt/introspection"
	"github.com/protojwt/protojwt/manager"
)

// FuzzAnswer has the endpoint answer arbitrary bytes: Verify never panics,
// allows only an answer that is a JSON object with "active": true, and
// otherwise fails with one of its documented errors.
func FuzzAnswer(f *testing.F) {
	for _, seed := range []string{
		`{"active":true,"sub":"alice","scope":"read","exp":4102444800}`,
		`{"active":false}`,
		`{"active":"true"}`,
		`{"active":true,"sub":42}`,
		`{"active":true,"exp":"soon"}`,
		`{"active":true,"exp":1e400}`,
		`{"active":true,"iat":-1,"nbf":99999999999999999999}`,
		`{"active":true,"aud":[1,{"x":null}],"scope":{"a":[true]}}`,
		`[]`, `null`, ``, `{"active":true}{}`,
	} {
		f.Add(seed)
	}
	var body atomic.Pointer[string]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(*body.Load()))
	}))
	defer srv.Close()
	f.Fuzz(func(t *testing.T, answer string) {
		body.Store(&answer)
		in, err := introspection.New(context.Background(), introspection.Config{Endpoint: srv.URL, ClientID: "api", ClientSecret: "x"},
			introspection.WithCacheBytes(0))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := in.Verify(context.Background(), "opaque-token")
		if err != nil {
			for _, known := range []error{introspection.ErrInactive, manager.ErrKeysUnavailable, manager.ErrExpired, manager.ErrNotYetValid} {
				if errors.Is(err, known) {
					return
				}
			}
			t.Fatalf("Verify = %v: not a documented error", err)
		}
		// Numbers as the introspector reads them: a member too large for a
		// float64 is kept as its text, not refused.
		var m map[string]any
		dec := json.NewDecoder(strings.NewReader(answer))
		dec.UseNumber()
		if dec.Decode(&m) != nil || m["active"] != true || tok == nil {
			t.Fatalf("allowed an answer that is not active: %q", answer)
		}
	})
}

// FuzzIsJWT checks that IsJWT never panics and holds only for three
// segments.
func FuzzIsJWT(f *testing.F) {
	for _, seed := range []string{"eyJhbGciOiJIUzI1NiJ9.e30.sig", "2YotnFZFEjr1zCsicMWpAA", "a.b.c", "....", "eyJ9..", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		if introspection.IsJWT(token) && strings.Count(token, ".") != 2 {
			t.Fatalf("IsJWT(%q) with %d dots", token, strings.Count(token, "."))
		}
	})
}
