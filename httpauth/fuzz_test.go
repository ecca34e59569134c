package httpauth_test

import (
	"net/http"
	"testing"

	"github.com/protojwt/protojwt/httpauth"
)

// FuzzAuthorization sends arbitrary Authorization values and paths to a
// guarded route: every answer is the handler's or one of the fixed
// refusals, never a panic, a 500, or text taken from the request.
func FuzzAuthorization(f *testing.F) {
	m := newManager(f)
	alice := authToken(f, m, "alice", "read", map[string]any{"n": 42})
	f.Add("Bearer "+alice, "alice")
	f.Add("Bearer "+alice, "42")
	f.Add("bearer "+alice+"=", "alice")
	f.Add("Bearer "+expiredToken(f, "alice"), "alice")
	f.Add("Bearer "+refreshToken(f, m, "alice"), "alice")
	f.Add("Basic YWxpY2U6c2VjcmV0", "alice")
	f.Add("Bearer a.b.c", "")
	f.Add("", "alice")

	h := httpauth.New(m).Require(httpauth.ClaimFromPath("sub", "user"), httpauth.Scopes("read"))(echo)
	refusals := make(map[string]string)
	for reason := range statusOf {
		refusals[bodyOf(reason)] = challengeOf("protojwt", reason)
	}
	f.Fuzz(func(t *testing.T, auth, user string) {
		r := httptestRequest(auth)
		r.SetPathValue("user", user)
		w := serveRecorded(h, r)
		switch w.Code {
		case http.StatusOK:
			if user != "alice" || w.Body.String() != "alice auth" {
				t.Fatalf("allowed %q for user %q: %q", auth, user, w.Body.String())
			}
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden:
			challenge, ok := refusals[w.Body.String()]
			if !ok || statusOf[reasonOf(w.Body.String())] != w.Code {
				t.Fatalf("refusal %d %q is not a fixed one", w.Code, w.Body.String())
			}
			if got := w.Header().Get("WWW-Authenticate"); got != challenge && !(w.Code == http.StatusBadRequest && malformedChallenges("protojwt")[got]) {
				t.Fatalf("WWW-Authenticate = %q, want %q", got, challenge)
			}
		default:
			t.Fatalf("status %d: %q", w.Code, w.Body.String())
		}
	})
}
