package bench

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkHTTPGuard is BenchmarkHTTPHandler's request with no
// authentication and behind the guard (a warm token), in memory, in
// alternating batches timed with the thread's CPU clock: the guard's own
// work, which a request over loopback (BenchmarkHTTPWarm) buries in some
// 30 µs of the transport's.
//
//	go test -run '^$' -bench HTTPGuard -benchtime 100x -count 8 .
func BenchmarkHTTPGuard(b *testing.B) {
	for _, alg := range []string{"HS256", "ES256"} {
		s := setupOf(b, alg)
		var sides []side
		for _, stack := range []string{StackNone, StackWarm} {
			h, err := s.HTTPHandler(stack)
			if err != nil {
				b.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodGet, "/users/"+Subject, nil)
			r.Header.Set("Authorization", "Bearer "+tokensOf(s, stack)[0])
			w := &statusWriter{header: http.Header{}}
			sides = append(sides, side{stack, func(int) {
				w.code = 0
				h.ServeHTTP(w, r)
				if w.code != http.StatusNoContent {
					b.Fatalf("%s: status %d", stack, w.code)
				}
			}})
		}
		b.Run("alg="+alg, func(b *testing.B) { interleave(b, 200, sides...) })
	}
}
