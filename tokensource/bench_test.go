package tokensource

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func freshRefresher(tb testing.TB) *Refresher {
	tb.Helper()
	clock := newFakeClock()
	r, err := New(tokenExpiring(tb, clock.Now().Add(time.Hour), 0), "refresh-0",
		newFakeLogin(tb, clock, time.Hour).refresh, WithClock(clock.Now))
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// TestTokenDoesNotAllocate pins the path of nearly every call: a token
// outside its margin is handed out without locking or allocating.
func TestTokenDoesNotAllocate(t *testing.T) {
	r := freshRefresher(t)
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() { r.Token(ctx) }); n != 0 {
		t.Fatalf("Token allocates %v times per call", n)
	}
}

func BenchmarkToken(b *testing.B) {
	r := freshRefresher(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := r.Token(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkGetRequestMetadata(b *testing.B) {
	creds := PerRPCCredentials(freshRefresher(b), WithInsecureTransport())
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := creds.GetRequestMetadata(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzCheckResponse(f *testing.F) {
	for _, s := range []string{
		`{"error":"invalid_token","reason":"TOKEN_REVOKED"}`, `{"reason":null}`, `[]`, ``, `{"error":5}`,
		`{"reason":"` + strings.Repeat("A", 100) + `"}`, "{\"reason\":\"\xff\"}",
	} {
		f.Add(401, s)
	}
	f.Fuzz(func(t *testing.T, code int, body string) {
		err := CheckResponse(&http.Response{StatusCode: code, Body: io.NopCloser(strings.NewReader(body))})
		if code >= 200 && code <= 299 {
			if err != nil {
				t.Fatalf("CheckResponse(%d) = %v", code, err)
			}
			return
		}
		re, ok := err.(*ResponseError)
		if !ok || re.StatusCode != code || word(re.Code) != re.Code || word(re.Reason) != re.Reason {
			t.Fatalf("CheckResponse(%d, %q) = %#v", code, body, err)
		}
		_ = loginOver(err)
	})
}

// answer is a RoundTripper that answers every request 200 without a
// network: what a client transport adds is all that is measured.
type answer struct{}

func (answer) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: http.NoBody}, nil
}

// BenchmarkRoundTripper compares a DPoP request, which signs a fresh
// proof (ES256 here), with a bearer request of the same token.
func BenchmarkRoundTripper(b *testing.B) {
	d := newTestDPoP(&testing.T{})
	for _, bc := range []struct {
		name string
		opts []TransportOption
	}{{"bearer", nil}, {"dpop", []TransportOption{WithDPoP(d)}}} {
		b.Run(bc.name, func(b *testing.B) {
			rt := RoundTripper(freshRefresher(b), answer{}, bc.opts...)
			req, err := http.NewRequest(http.MethodGet, "https://api.example/orders", nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := rt.RoundTrip(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
