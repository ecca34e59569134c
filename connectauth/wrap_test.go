package connectauth_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/grpc/codes"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/connectauth"
	"github.com/protojwt/protojwt/internal/hostiletest"
	"github.com/protojwt/protojwt/internal/rpctest"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/internal/testpb/testpbconnect"
	"github.com/protojwt/protojwt/manager"
)

// wrappedServer is a test server whose mux is served through Wrap of the
// Interceptor its handlers use, as the README sets it up. reached counts
// the requests Wrap passed on to the mux: a request it refused was never
// read by connect, nor decoded, nor seen by a handler.
type wrappedServer struct {
	*testServer
	reached atomic.Int32
}

func startWrapped(t testing.TB, v manager.Verifier, opts ...connectauth.Option) *wrappedServer {
	t.Helper()
	auth, err := connectauth.New(v, opts...)
	if err != nil {
		t.Fatalf("connectauth.New: %v", err)
	}
	ws := &wrappedServer{}
	ws.testServer = serveThrough(t, func(mux http.Handler) http.Handler {
		return auth.Wrap(ws.count(mux))
	}, upload{}, connect.WithInterceptors(auth))
	ws.auth = auth
	return ws
}

// count returns next, counting its requests in ws.reached.
func (ws *wrappedServer) count(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws.reached.Add(1)
		next.ServeHTTP(w, r)
	})
}

// TestWrapSameOutcomes runs the tables of the interceptor's own tests
// through Wrap, under every protocol: every call gets the answer it gets
// without Wrap, whether Wrap or the interceptor decides it.
func TestWrapSameOutcomes(t *testing.T) {
	m := newManager(t, manager.WithRevocation(revocationStore(t)))
	ws := startWrapped(t, m)
	down := newManager(t, manager.WithRevocation(rpctest.DownStore{Store: revocationStore(t)}))
	wsDown := startWrapped(t, down)
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			t.Run("rules", func(t *testing.T) { rpctest.RunUnary(t, p.client(ws.testServer), rpctest.RuleCases(t, m)) })
			t.Run("tokens", func(t *testing.T) { rpctest.RunUnary(t, p.client(ws.testServer), rpctest.TokenCases(t, m)) })
			t.Run("store down", func(t *testing.T) {
				rpctest.RunUnary(t, p.client(wsDown.testServer), rpctest.StoreDownCases(authToken(t, down, "alice", nil, nil)))
			})
			t.Run("chat", func(t *testing.T) {
				rpctest.RunChat(t, p.client(ws.testServer), &ws.guarded.streams, rpctest.ChatCases(t, m))
			})
			t.Run("watch", func(t *testing.T) { rpctest.RunWatch(t, p.client(ws.testServer), rpctest.WatchCases(t, m)) })
		})
	}
}

// TestWrapHostileTables runs the hostile tables through Wrap, under every
// protocol: the same reasons as without it.
func TestWrapHostileTables(t *testing.T) {
	for name, run := range map[string]func(*testing.T, rpctest.Client, *hostiletest.Env){
		"unary":              rpctest.RunHostileUnary,
		"chat":               rpctest.RunHostileChat,
		"checks unary":       rpctest.RunHostileChecksUnary,
		"checks chat":        rpctest.RunHostileChecksChat,
		"checks per message": rpctest.RunChecksOnEveryMessage,
	} {
		t.Run(name, func(t *testing.T) {
			env := hostiletest.New(t)
			ws := startWrapped(t, env.Manager)
			for _, p := range protocols {
				t.Run(p.name, func(t *testing.T) { run(t, p.client(ws.testServer), env) })
			}
			if hits := env.TrapHits(); hits != 0 {
				t.Errorf("a URL of a token header was fetched %d times", hits)
			}
		})
	}
}

// TestWrapRefusesFromHeaders: a call without a valid token for its rule is
// refused by Wrap, under every protocol and for every kind of stream, with
// the interceptor's code and reason, and never reaches connect: its body
// is not read, its message not decoded, its handler not entered.
func TestWrapRefusesFromHeaders(t *testing.T) {
	m := newManager(t, manager.WithRevocation(revocationStore(t)))
	ws := startWrapped(t, m)
	valid := authToken(t, m, "alice", nil, nil)
	refresh := rpctest.RefreshToken(t, m, "alice", nil)
	expired := authToken(t, newManager(t, rpctest.ClockAt(-2*time.Hour)), "alice", nil, nil)
	revoked, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Revoke(context.Background(), revoked); err != nil {
		t.Fatal(err)
	}
	tampered := valid[:len(valid)-2] + "AA"
	if tampered == valid {
		tampered = valid[:len(valid)-2] + "BB"
	}
	const unauth, denied = codes.Unauthenticated, codes.PermissionDenied
	fieldTop := &testpb.FieldTopRequest{Username: "alice"}
	unary := []unaryCase{
		{Name: "no token", Method: methodFieldTop, Request: fieldTop, Code: unauth, Reason: protojwt.ReasonTokenMissing},
		{Name: "empty value", Method: methodFieldTop, Request: fieldTop, Auth: []string{""}, Code: unauth, Reason: protojwt.ReasonTokenMissing},
		{Name: "not a JWT", Method: methodFieldTop, Request: fieldTop, Auth: []string{"Bearer x.y.z"}, Code: unauth, Reason: protojwt.ReasonTokenInvalid},
		{Name: "tampered", Method: methodFieldTop, Request: fieldTop, Auth: []string{bearer(tampered)}, Code: unauth, Reason: protojwt.ReasonTokenInvalid},
		{Name: "other scheme", Method: methodFieldTop, Request: fieldTop, Auth: []string{"Basic " + valid}, Code: unauth, Reason: protojwt.ReasonRequestMalformed},
		{Name: "two values", Method: methodFieldTop, Request: fieldTop, Auth: []string{bearer(valid), bearer(valid)}, Code: unauth, Reason: protojwt.ReasonRequestMalformed},
		{Name: "expired", Method: methodFieldTop, Request: fieldTop, Auth: []string{bearer(expired)}, Code: unauth, Reason: protojwt.ReasonTokenExpired},
		{Name: "revoked", Method: methodFieldTop, Request: fieldTop, Auth: []string{bearer(revoked.Signed)}, Code: unauth, Reason: protojwt.ReasonTokenRevoked},
		{Name: "refresh token for an auth rule", Method: methodFieldTop, Request: fieldTop, Auth: []string{bearer(refresh)}, Code: unauth, Reason: protojwt.ReasonTokenType},
		{Name: "auth token for a refresh rule", Method: methodRefresh, Request: &testpb.RefreshRequest{}, Auth: []string{bearer(valid)}, Code: unauth, Reason: protojwt.ReasonTokenType},
		{Name: "allow_missing, invalid token sent", Method: testpbconnect.GuardedServiceChecksProcedure, Request: &testpb.ChecksRequest{}, Auth: []string{"Bearer x.y.z"}, Code: unauth, Reason: protojwt.ReasonTokenInvalid},
		{Name: "scope missing, rule reads no request", Method: methodScopeContains, Request: &testpb.ScopeContainsRequest{}, Auth: []string{bearer(valid)}, Code: denied, Reason: protojwt.ReasonScopeMissing},
		{Name: "undeclared", Method: methodUndeclared, Request: &testpb.UndeclaredRequest{}, Auth: []string{bearer(valid)}, Code: denied, Reason: protojwt.ReasonMethodNotDeclared},
		{Name: "undeclared service", Method: methodPing, Request: &testpb.PingRequest{}, Code: denied, Reason: protojwt.ReasonMethodNotDeclared},
	}
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			c := p.client(ws.testServer)
			for _, tt := range unary {
				t.Run(tt.Name, func(t *testing.T) {
					before := ws.reached.Load()
					_, err := c.Unary(t, tt.Method, tt.Request, tt.Auth)
					rpctest.CheckDenial(t, err, tt.Code, tt.Reason, tt.Auth...)
					if n := ws.reached.Load() - before; n != 0 {
						t.Errorf("the refused call reached connect %d times", n)
					}
				})
			}
			for _, s := range []struct {
				name   string
				auth   []string
				reason string
			}{
				{"no token", nil, protojwt.ReasonTokenMissing},
				{"bad token", []string{"Bearer x.y.z"}, protojwt.ReasonTokenInvalid},
				{"refresh token", []string{bearer(refresh)}, protojwt.ReasonTokenType},
			} {
				t.Run("streams/"+s.name, func(t *testing.T) {
					before, streams := ws.reached.Load(), ws.guarded.streams.Load()
					res := p.chat(t, ws.testServer, s.auth, "alice")
					rpctest.CheckDenial(t, res.Err, codes.Unauthenticated, s.reason, s.auth...)
					_, err := p.upload(t, ws.testServer, s.auth, "alice", "alice")
					rpctest.CheckDenial(t, err, codes.Unauthenticated, s.reason, s.auth...)
					_, err = p.watch(t, ws.testServer, s.auth, &testpb.WatchRequest{})
					rpctest.CheckDenial(t, err, codes.Unauthenticated, s.reason, s.auth...)
					if n := ws.reached.Load() - before; n != 0 {
						t.Errorf("refused streams reached connect %d times", n)
					}
					if n := ws.guarded.streams.Load() - streams; n != 0 {
						t.Errorf("%d stream handlers entered", n)
					}
				})
			}
		})
	}
}

// TestWrapPassesOn: what Wrap lets through, it passes to the mux once, and
// the interceptor still checks the parts of the rule that read the
// request: a claim bound to a request field that does not match is
// PERMISSION_DENIED, on unary calls and on every message of a stream.
func TestWrapPassesOn(t *testing.T) {
	m := newManager(t)
	ws := startWrapped(t, m)
	alice := []string{bearer(authToken(t, m, "alice", nil, nil))}
	const denied = codes.PermissionDenied
	unary := []unaryCase{
		{Name: "allowed", Method: methodFieldTop, Request: &testpb.FieldTopRequest{Username: "alice"}, Auth: alice, Subject: "alice"},
		{Name: "request field mismatch", Method: methodFieldTop, Request: &testpb.FieldTopRequest{Username: "bob"}, Auth: alice, Code: denied, Reason: protojwt.ReasonClaimMismatch},
		{Name: "nested request field mismatch", Method: methodFieldNested, Request: &testpb.FieldNestedRequest{User: &testpb.User{Id: "bob"}}, Auth: alice, Code: denied, Reason: protojwt.ReasonClaimMismatch},
		{Name: "public, no token", Method: methodPublic, Request: &testpb.PublicRequest{}},
		{Name: "public, bad token", Method: methodPublic, Request: &testpb.PublicRequest{}, Auth: []string{"Bearer x.y.z"}},
		{Name: "allow_missing, no token", Method: testpbconnect.GuardedServiceChecksProcedure, Request: &testpb.ChecksRequest{}},
	}
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			c := p.client(ws.testServer)
			for _, tt := range unary {
				t.Run(tt.Name, func(t *testing.T) {
					before := ws.reached.Load()
					rpctest.RunUnary(t, c, []unaryCase{tt})
					if n := ws.reached.Load() - before; n != 1 {
						t.Errorf("the call reached connect %d times, want once", n)
					}
				})
			}
			t.Run("stream message mismatch", func(t *testing.T) {
				res := p.chat(t, ws.testServer, alice, "alice", "bob")
				rpctest.CheckDenial(t, res.Err, denied, protojwt.ReasonClaimMismatch)
				if len(res.Replies) != 1 {
					t.Errorf("%d replies, want 1", len(res.Replies))
				}
				_, err := p.upload(t, ws.testServer, alice, "alice", "bob")
				rpctest.CheckDenial(t, err, denied, protojwt.ReasonClaimMismatch)
			})
		})
	}
}

// TestWrapOtherRequests: requests that are not an RPC of the resolver go
// to the mux unchanged, which answers them without reading a body.
func TestWrapOtherRequests(t *testing.T) {
	ws := startWrapped(t, newManager(t))
	for _, tt := range []struct {
		name        string
		method      string
		path        string
		contentType string
		want        int
	}{
		{"unknown procedure", http.MethodPost, "/nope.v1.NopeService/Call", "application/json", http.StatusNotFound},
		{"not a procedure", http.MethodGet, "/healthz", "", http.StatusNotFound},
		{"CORS preflight", http.MethodOptions, methodFieldTop, "", http.StatusMethodNotAllowed},
		{"not an RPC content type", http.MethodPost, methodFieldTop, "text/plain", http.StatusUnsupportedMediaType},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(ctxFor(t), tt.method, ws.url+tt.path, strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			before := ws.reached.Load()
			resp, err := ws.http1.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("HTTP %d, want %d", resp.StatusCode, tt.want)
			}
			if n := ws.reached.Load() - before; n != 1 {
				t.Errorf("reached the mux %d times, want once", n)
			}
		})
	}
}

// countingVerifier counts the tokens it verifies.
type countingVerifier struct {
	manager.Verifier
	calls atomic.Int32
}

func (v *countingVerifier) Verify(ctx context.Context, token string) (*manager.Token, error) {
	v.calls.Add(1)
	return v.Verifier.Verify(ctx, token)
}

// TestWrapVerifiesOnce: a call Wrap lets through is verified once, by Wrap,
// not again by the interceptor; without Wrap, once by the interceptor.
func TestWrapVerifiesOnce(t *testing.T) {
	m := newManager(t)
	alice := []string{bearer(authToken(t, m, "alice", nil, nil))}
	v := &countingVerifier{Verifier: m}
	wrapped, plain := startWrapped(t, v), startServer(t, v)
	for _, p := range protocols {
		for name, ts := range map[string]*testServer{"wrap": wrapped.testServer, "interceptor": plain} {
			t.Run(p.name+"/"+name, func(t *testing.T) {
				v.calls.Store(0)
				r, err := p.unary(t, ts, methodFieldTop, &testpb.FieldTopRequest{Username: "alice"}, alice)
				checkReply(t, r, err, "alice")
				if n := v.calls.Load(); n != 1 {
					t.Errorf("unary call verified %d times, want once", n)
				}
				v.calls.Store(0)
				if res := p.chat(t, ts, alice, "alice", "alice"); res.Err != nil || len(res.Replies) != 2 {
					t.Fatalf("chat: %d replies, %v", len(res.Replies), res.Err)
				}
				if n := v.calls.Load(); n != 1 {
					t.Errorf("stream verified %d times, want once", n)
				}
			})
		}
	}
}

// TestWrapTokenTrust: the interceptor takes a token from the context only
// when Wrap of the same Interceptor verified it for this call, for this
// procedure and this Authorization value, and the token has not expired
// since. Anything else it verifies itself, as it does without Wrap.
func TestWrapTokenTrust(t *testing.T) {
	m := newManager(t)
	other := rpctest.NewManagerWith(t, manager.Config{Issuer: rpctest.Issuer, Algorithm: "HS256", Secret: []byte("another secret of thirty-two bytes or more")})
	alice := bearer(authToken(t, m, "alice", nil, nil))
	bob := bearer(authToken(t, m, "bob", nil, nil))
	otherAlice := bearer(authToken(t, other, "alice", nil, nil))
	forged, err := other.Verify(context.Background(), strings.TrimPrefix(otherAlice, "Bearer "))
	if err != nil {
		t.Fatal(err)
	}
	clock := &rpctest.FakeClock{}

	newAuth := func(v manager.Verifier, opts ...connectauth.Option) *connectauth.Interceptor {
		auth, err := connectauth.New(v, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return auth
	}
	auth := newAuth(m, connectauth.WithClock(clock.Now))
	// setHeader returns middleware that replaces the Authorization value.
	setHeader := func(value string) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.Header.Set("Authorization", value)
				next.ServeHTTP(w, r)
			})
		}
	}
	chain := func(wraps ...func(http.Handler) http.Handler) func(http.Handler) http.Handler {
		return func(h http.Handler) http.Handler {
			for i := len(wraps) - 1; i >= 0; i-- {
				h = wraps[i](h)
			}
			return h
		}
	}
	tests := []struct {
		name   string
		wrap   func(http.Handler) http.Handler
		auth   []string
		reason string // "" for allowed as alice
	}{
		{name: "token in the context, not from Wrap", auth: nil, reason: protojwt.ReasonTokenMissing,
			wrap: func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					next.ServeHTTP(w, r.WithContext(manager.NewContext(r.Context(), forged)))
				})
			}},
		{name: "Wrap of another Interceptor", auth: []string{otherAlice}, reason: protojwt.ReasonTokenInvalid,
			wrap: newAuth(other).Wrap},
		{name: "Authorization changed after Wrap", auth: []string{alice}, reason: protojwt.ReasonTokenInvalid,
			wrap: chain(auth.Wrap, setHeader("Bearer x.y.z"))},
		{name: "another valid token after Wrap", auth: []string{alice}, reason: protojwt.ReasonClaimMismatch,
			wrap: chain(auth.Wrap, setHeader(bob))},
		{name: "expired after Wrap", auth: []string{alice}, reason: protojwt.ReasonTokenExpired,
			wrap: chain(auth.Wrap, func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					clock.Advance(2 * time.Hour)
					defer clock.Advance(-2 * time.Hour)
					next.ServeHTTP(w, r)
				})
			})},
		{name: "Wrap alone", auth: []string{alice}, wrap: auth.Wrap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := serveThrough(t, tt.wrap, upload{}, connect.WithInterceptors(auth))
			for _, p := range protocols {
				t.Run(p.name, func(t *testing.T) {
					r, err := p.unary(t, ts, methodFieldTop, &testpb.FieldTopRequest{Username: "alice"}, tt.auth)
					if tt.reason == "" {
						checkReply(t, r, err, "alice")
						return
					}
					rpctest.CheckDenial(t, err, rpctest.CodeOf(t, tt.reason), tt.reason)
				})
			}
		})
	}
}

// TestWrapDecisionHook: the hook is told one decision per call through
// Wrap, as without it: Wrap's refusal, or the interceptor's decision of a
// call Wrap let through, never both.
func TestWrapDecisionHook(t *testing.T) {
	m := newManager(t)
	var rec rpctest.Decisions
	ws := startWrapped(t, m, connectauth.WithDecisionHook(rec.Hook))
	refresh := []string{bearer(rpctest.RefreshToken(t, m, "alice", nil))}
	cases := append(rpctest.HookCases(t, m),
		rpctest.HookCase{Name: "bad token", Call: func(t *testing.T, c rpctest.Client) error {
			_, err := c.Unary(t, methodFieldTop, &testpb.FieldTopRequest{Username: "alice"}, []string{"Bearer x.y.z"})
			return err
		}, Wants: []rpctest.Decided{{Procedure: methodFieldTop, Reason: protojwt.ReasonTokenInvalid}}},
		rpctest.HookCase{Name: "stream refused by Wrap", Call: func(t *testing.T, c rpctest.Client) error {
			return c.Chat(t, refresh, "alice").Err
		}, Wants: []rpctest.Decided{{Procedure: testpbconnect.GuardedServiceChatProcedure, Reason: protojwt.ReasonTokenType, Subject: "alice"}}},
	)
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			rpctest.RunDecisionHook(t, p.client(ws.testServer), &rec, cases)
		})
	}
}

// TestWrapOptions: what an option opens, Wrap lets through, and what it
// does not, Wrap refuses as the interceptor does; WithHeader names the
// header Wrap reads too.
func TestWrapOptions(t *testing.T) {
	m := newManager(t)
	opened := rpctest.OpenedCases(t, m)
	for _, tt := range []struct {
		name  string
		opts  []connectauth.Option
		cases []unaryCase
	}{
		{name: "WithPublicProcedures", opts: []connectauth.Option{connectauth.WithPublicProcedures(methodUndeclared)}, cases: opened.Methods},
		{name: "WithPublicServices", opts: []connectauth.Option{connectauth.WithPublicServices(rpctest.OpenedService)}, cases: opened.Services},
		{name: "AllowUnannotated", opts: []connectauth.Option{connectauth.AllowUnannotated()}, cases: opened.Unannotated},
		{name: "none", cases: opened.None},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ws := startWrapped(t, m, tt.opts...)
			runUnary(t, ws.testServer, tt.cases)
		})
	}

	t.Run("WithHeader", func(t *testing.T) {
		ws := startWrapped(t, m, connectauth.WithHeader("X-Api-Token"))
		signed := authToken(t, m, "alice", nil, nil)
		req := &testpb.FieldTopRequest{Username: "alice"}
		for _, p := range protocols {
			t.Run(p.name, func(t *testing.T) {
				before := ws.reached.Load()
				_, err := p.unary(t, ws.testServer, methodFieldTop, req, []string{bearer(signed)})
				checkDenial(t, err, connect.CodeUnauthenticated, protojwt.ReasonTokenMissing, signed)
				if n := ws.reached.Load() - before; n != 0 {
					t.Errorf("a token in Authorization reached connect %d times", n)
				}
			})
		}
		client := testpbconnect.NewGuardedServiceClient(ws.http1, ws.url)
		r := connect.NewRequest(req)
		r.Header().Set("X-Api-Token", bearer(signed))
		resp, err := client.FieldTop(ctxFor(t), r)
		if err != nil {
			t.Fatalf("token in X-Api-Token: %v", err)
		}
		checkReply(t, resp.Msg.GetReply(), err, "alice")
	})
}

// TestWrapDecisionErrNamesThePart: a call Wrap lets through and the
// interceptor then refuses, for a claim bound to the request, reaches the
// hook with Decision.Err naming the part that failed, as without Wrap.
func TestWrapDecisionErrNamesThePart(t *testing.T) {
	m := newManager(t)
	var rec rpctest.Decisions
	ws := startWrapped(t, m, connectauth.WithDecisionHook(rec.Hook))
	auth := []string{bearer(authToken(t, m, "alice", nil, nil))}
	const want = `protojwt: claim mismatch: claim sub: equals field:username: not equal`
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			rec.Take()
			_, err := p.client(ws.testServer).Unary(t, methodFieldTop, &testpb.FieldTopRequest{Username: "bob"}, auth)
			if reason, _ := protojwt.ReasonOf(err); reason != protojwt.ReasonClaimMismatch {
				t.Fatalf("reason %q (%v), want %s", reason, err, protojwt.ReasonClaimMismatch)
			}
			got := rec.Take()
			if len(got) != 1 || got[0].Err == nil || got[0].Err.Error() != want {
				t.Fatalf("decisions %+v, want one whose Err is %q", got, want)
			}
		})
	}
}
