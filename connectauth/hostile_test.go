package connectauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/connectauth"
	"github.com/protojwt/protojwt/internal/hostiletest"
	"github.com/protojwt/protojwt/internal/rpctest"
	"github.com/protojwt/protojwt/internal/testpb"
)

// TestHostileUnary sends every case of the hostile table to FieldTop (whose
// rule is the table's, as the interceptor's tests check) under every
// protocol, with the username field set to the table's subject.
func TestHostileUnary(t *testing.T) {
	underEveryProtocol(t, rpctest.RunHostileUnary)
}

// TestHostileStream sends every case of the hostile table to Chat, whose
// rule binds the subject to each message's sender, under every protocol:
// token refusals end the stream as it opens, a claim mismatch at the first
// message.
func TestHostileStream(t *testing.T) {
	underEveryProtocol(t, rpctest.RunHostileChat)
}

// TestHostileRawHTTP sends every case of the hostile table as a plain
// HTTP/1.1 POST of JSON, as curl does: the Connect protocol's error body
// carries the code and the ErrorInfo detail, and never the token.
func TestHostileRawHTTP(t *testing.T) {
	env := hostiletest.New(t)
	ts := startServer(t, env.Manager)
	for _, c := range hostiletest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			values := c.Authorization(env)
			status, body := postJSON(t, ts, methodFieldTop, `{"username":"`+hostiletest.Subject+`"}`, values)
			if c.Reason == "" {
				if status != http.StatusOK || !strings.Contains(body, `"subject":"alice"`) {
					t.Fatalf("HTTP %d %s, want 200 with alice's reply", status, body)
				}
				return
			}
			checkJSONDenial(t, status, body, connect.Code(rpctest.CodeOf(t, c.Reason)), c.Reason)
			for _, s := range hostiletest.TokensOf(values) {
				if strings.Contains(body, s) {
					t.Errorf("error body quotes the request: %s", body)
				}
			}
		})
	}
}

// postJSON posts body to procedure as the Connect protocol's unary JSON
// call, with one Authorization header per value, and returns the status
// and the response body.
func postJSON(t testing.TB, ts *testServer, procedure, body string, auth []string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxFor(t), http.MethodPost, ts.url+procedure, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	addAuth(req.Header, auth)
	resp, err := ts.http1.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// connectErrorBody is the JSON body of a Connect protocol error.
type connectErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details []struct {
		Type  string          `json:"type"`
		Value string          `json:"value"`
		Debug json.RawMessage `json:"debug"`
	} `json:"details"`
}

// checkJSONDenial fails unless a raw Connect protocol response is the
// denial: the HTTP status of code, its name in the body, and an ErrorInfo
// detail whose debug form shows domain and reason.
func checkJSONDenial(t testing.TB, status int, body string, code connect.Code, reason string) {
	t.Helper()
	wantStatus := map[connect.Code]int{
		connect.CodeUnauthenticated:  http.StatusUnauthorized,
		connect.CodePermissionDenied: http.StatusForbidden,
		connect.CodeUnavailable:      http.StatusServiceUnavailable,
	}[code]
	if status != wantStatus {
		t.Errorf("HTTP status %d, want %d", status, wantStatus)
	}
	var e connectErrorBody
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	if e.Code != code.String() {
		t.Errorf("code %q, want %q", e.Code, code.String())
	}
	if len(e.Details) != 1 || e.Details[0].Type != "google.rpc.ErrorInfo" {
		t.Fatalf("details %s, want one google.rpc.ErrorInfo", body)
	}
	var info struct{ Reason, Domain string }
	if err := json.Unmarshal(e.Details[0].Debug, &info); err != nil {
		t.Fatalf("detail debug %s: %v", e.Details[0].Debug, err)
	}
	if info.Domain != protojwt.Domain || info.Reason != reason {
		t.Errorf("ErrorInfo %+v, want {%s %s}", info, reason, protojwt.Domain)
	}
}

// TestRawHTTPPost is the README's curl line as a test: a plain JSON POST
// with and without a token.
func TestRawHTTPPost(t *testing.T) {
	m := newManager(t)
	ts := startServer(t, m)
	alice := []string{bearer(authToken(t, m, "alice", nil, nil))}

	status, body := postJSON(t, ts, methodFieldTop, `{"username":"alice"}`, alice)
	var ok struct {
		Reply struct {
			Subject  string `json:"subject"`
			HasToken bool   `json:"hasToken"`
		} `json:"reply"`
	}
	if err := json.Unmarshal([]byte(body), &ok); status != http.StatusOK || err != nil || ok.Reply.Subject != "alice" || !ok.Reply.HasToken {
		t.Errorf("allowed call: HTTP %d %s", status, body)
	}
	status, body = postJSON(t, ts, methodFieldTop, `{"username":"bob"}`, alice)
	checkJSONDenial(t, status, body, connect.CodePermissionDenied, protojwt.ReasonClaimMismatch)
	status, body = postJSON(t, ts, methodFieldTop, `{"username":"alice"}`, nil)
	checkJSONDenial(t, status, body, connect.CodeUnauthenticated, protojwt.ReasonTokenMissing)
	status, body = postJSON(t, ts, methodUndeclared, `{}`, alice)
	checkJSONDenial(t, status, body, connect.CodePermissionDenied, protojwt.ReasonMethodNotDeclared)
	if !strings.Contains(body, methodUndeclared) {
		t.Errorf("the denial of an undeclared procedure does not name it: %s", body)
	}
	status, body = postJSON(t, ts, methodPublic, `{}`, nil)
	if status != http.StatusOK || !bytes.Contains([]byte(body), []byte(`"reply"`)) {
		t.Errorf("public call: HTTP %d %s", status, body)
	}
}

// unaryRequest is a FieldTop request as a handler sees it, with the given
// headers.
type unaryRequest struct {
	*connect.Request[testpb.FieldTopRequest]
	header http.Header
}

func (r *unaryRequest) Spec() connect.Spec {
	return connect.Spec{Procedure: methodFieldTop, StreamType: connect.StreamTypeUnary}
}

func (r *unaryRequest) Header() http.Header { return r.header }

// unaryDirect returns a call of FieldTop through auth's unary wrapper, with
// the request headers h, that reports whether the handler ran.
func unaryDirect(tb testing.TB, auth *connectauth.Interceptor) func(h http.Header) (bool, error) {
	tb.Helper()
	var ran bool
	next := auth.WrapUnary(func(context.Context, connect.AnyRequest) (connect.AnyResponse, error) {
		ran = true
		return nil, nil
	})
	req := &unaryRequest{Request: connect.NewRequest(&testpb.FieldTopRequest{Username: "alice"})}
	return func(h http.Header) (bool, error) {
		ran = false
		req.header = h
		_, err := next(context.Background(), req)
		return ran, err
	}
}

// TestRefuseCost checks what a refusal costs: the same few allocations at
// every token size (the token is refused by its length, before any base64
// or JSON work), the denial's message and detail built once.
func TestRefuseCost(t *testing.T) {
	auth, err := connectauth.New(newManager(t))
	if err != nil {
		t.Fatal(err)
	}
	call := unaryDirect(t, auth)
	for _, sz := range hostiletest.OversizedSizes() {
		h := http.Header{"Authorization": {bearer(hostiletest.OversizedToken(sz.Bytes))}}
		ran, err := call(h)
		if ran {
			t.Fatal("oversized token reached the handler")
		}
		checkDenial(t, err, connect.CodeUnauthenticated, protojwt.ReasonTokenInvalid)
		if raceEnabled {
			continue // the race detector changes allocation counts
		}
		if allocs := testing.AllocsPerRun(100, func() { _, _ = call(h) }); allocs > 8 {
			t.Errorf("refusing a token of %s allocates %v times, want at most 8", sz.Name, allocs)
		}
		if perCall := hostiletest.BytesPerCall(100, func() { _, _ = call(h) }); perCall > 2048 {
			t.Errorf("refusing a token of %s allocates %d bytes, want at most 2 KiB", sz.Name, perCall)
		}
	}
}
