package audit_test

import (
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/protojwt/protojwt/audit"
	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/manager"
)

// Example writes the audit trail of a guarded route: bob may read his own
// account, not alice's. The record names bob; it never holds his token.
func Example() {
	m, err := manager.New(manager.Config{
		Issuer:    "https://idp.example",
		Algorithm: "HS256",
		Secret:    []byte("an example secret of at least 32 bytes"),
	})
	if err != nil {
		log.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			switch a.Key { // left out to keep the output stable
			case slog.TimeKey, audit.KeyTokenID, audit.KeyDuration:
				return slog.Attr{}
			}
			return a
		},
	}))
	guard := httpauth.New(m, httpauth.WithDecisionHook(audit.Hook(logger)))
	mux := http.NewServeMux()
	mux.Handle("GET /accounts/{user}", guard.Require(httpauth.ClaimFromPath("sub", "user"))(
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))

	bob, err := m.AuthToken("bob", nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, path := range []string{"/accounts/bob", "/accounts/alice"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer "+bob.Signed)
		mux.ServeHTTP(httptest.NewRecorder(), req)
	}
	// Output:
	// level=WARN msg="protojwt: denied" procedure="GET /accounts/{user}" stage=call reason=CLAIM_MISMATCH subject=bob issuer=https://idp.example error="protojwt: claim mismatch: claim sub: equals field:user: not equal"
}
