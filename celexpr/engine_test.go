package celexpr_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/celexpr"
	"github.com/protojwt/protojwt/celexpr/internal/testpb"
)

var (
	docDesc      = (&testpb.GetDocumentRequest{}).ProtoReflect().Descriptor()
	transferDesc = (&testpb.TransferRequest{}).ProtoReflect().Descriptor()
	auditDesc    = (&testpb.AuditRequest{}).ProtoReflect().Descriptor()
)

// TestCompileErrors: every expression that can't be used is refused when
// the adapter is built, with CEL's message, and a hint when it names the
// variable of the other kind of adapter.
func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name    string
		engine  *celexpr.Engine
		expr    string
		request protoreflect.MessageDescriptor
		want    []string // in the error's text
	}{
		{"syntax", celexpr.New(), "claims.sub ==", docDesc, []string{"Syntax error"}},
		{"unbalanced", celexpr.New(), "('admin' in claims.roles", docDesc, []string{"Syntax error"}},
		{"dyn, not bool", celexpr.New(), "claims.admin", docDesc, []string{"dyn, not bool", "claims.admin == true"}},
		{"int, not bool", celexpr.New(), "request.amount + 1", transferDesc, []string{"int, not bool"}},
		{"string, not bool", celexpr.New(), "request.owner", docDesc, []string{"string, not bool"}},
		{"unknown field", celexpr.New(), "request.ownr == claims.sub", docDesc, []string{"undefined field 'ownr'"}},
		{"unknown nested field", celexpr.New(), "request.from.id == claims.account", transferDesc, []string{"undefined field 'id'"}},
		{"field of the wrong type", celexpr.New(), "request.amount == 'ten'", transferDesc, []string{"no matching overload"}},
		{"request in HTTP", celexpr.New(), "request.owner == claims.sub", nil, []string{"HTTP route has no request message", "undeclared reference to 'request'"}},
		{"root-scoped request in HTTP", celexpr.New(), ".request.owner == claims.sub", nil, []string{"HTTP route has no request message"}},
		{"path in an RPC", celexpr.New(), "path.owner == claims.sub", docDesc, []string{"RPC has no path", "protojwt.celexpr.test.v1.GetDocumentRequest", "undeclared reference to 'path'"}},
		{"unknown variable", celexpr.New(), "token.sub == 'alice'", docDesc, []string{"undeclared reference to 'token'"}},
		{"unknown function", celexpr.New(), "claims.sub.lowerAscii() == 'alice'", docDesc, []string{"lowerAscii"}},
		{"zero cost limit", celexpr.New(celexpr.WithCostLimit(0)), "true", docDesc, []string{"WithCostLimit"}},
		{"nil env option", celexpr.New(celexpr.WithEnvOptions(nil)), "true", docDesc, []string{"WithEnvOptions"}},
		{"claims redeclared", celexpr.New(celexpr.WithEnvOptions(cel.Variable("claims", cel.StringType))), "claims == 'x'", docDesc, []string{"WithEnvOptions", "overlapping identifier for name 'claims'"}},
		{"nil engine", nil, "true", docDesc, []string{"nil Engine"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := tt.engine.Compile(tt.expr, tt.request)
			if err == nil {
				t.Fatalf("Compile(%q) = %v, want an error", tt.expr, x)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Compile(%q) error %q does not say %q", tt.expr, err, want)
				}
			}
		})
	}
}

// TestBadOptionIsInvalidOption: the adapters report a bad option of the
// engine as one.
func TestBadOptionIsInvalidOption(t *testing.T) {
	_, err := celexpr.New(celexpr.WithCostLimit(0)).Compile("true", nil)
	if !errors.Is(err, protojwt.ErrInvalidOption) {
		t.Fatalf("error %v, want one wrapping protojwt.ErrInvalidOption", err)
	}
}

// TestEnvOptions: an extension library given with WithEnvOptions is usable.
func TestEnvOptions(t *testing.T) {
	if _, err := celexpr.New().Compile("claims.email.lowerAscii().endsWith('@acme.example')", nil); err == nil {
		t.Fatal("lowerAscii compiled without ext.Strings")
	}
	x, err := celexpr.New(celexpr.WithEnvOptions(ext.Strings())).Compile("claims.email.lowerAscii().endsWith('@acme.example')", nil)
	if err != nil {
		t.Fatal(err)
	}
	for email, want := range map[string]bool{"Ann@ACME.example": true, "ann@acme.example.org": false} {
		got, err := x.Eval(protojwt.ExpressionInput{Claims: map[string]any{"email": email}})
		if err != nil || got != want {
			t.Errorf("email %q: Eval = %v, %v; want %v", email, got, err, want)
		}
	}
}

// TestReadsRequest: an expression reads the request when it names request
// (RPCs) or path (HTTP) anywhere, macros included.
func TestReadsRequest(t *testing.T) {
	tests := []struct {
		expr    string
		request protoreflect.MessageDescriptor
		want    bool
	}{
		{"'admin' in claims.roles", docDesc, false},
		{"claims.sub == 'alice'", nil, false},
		{"claims.roles.exists(r, r == 'admin')", docDesc, false},
		{"'admin' in claims.roles || request.owner == claims.sub", docDesc, true},
		{"has(request.from)", transferDesc, true},
		{"claims.roles.exists(r, r == request.owner)", docDesc, true},
		{"request.tags.all(a, a != '')", auditDesc, true},
		{"path.owner == claims.sub", nil, true},
		{"'owner' in path", nil, true},
		{".request.owner == 'alice'", docDesc, true},
		{".path.owner == 'alice'", nil, true},
	}
	for _, tt := range tests {
		x, err := celexpr.New().Compile(tt.expr, tt.request)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tt.expr, err)
		}
		if got := x.ReadsRequest(); got != tt.want {
			t.Errorf("%q: ReadsRequest() = %v, want %v", tt.expr, got, tt.want)
		}
	}
}

// TestEval: what an expression decides of claims, request and path; errors
// deny.
func TestEval(t *testing.T) {
	const getDoc = "'admin' in claims.roles || request.owner == claims.sub"
	const transfer = "request.amount <= claims.limit && request.from.account_id == claims.account"
	doc := func(owner string) *testpb.GetDocumentRequest { return &testpb.GetDocumentRequest{Owner: owner} }
	xfer := func(amount, account int64) *testpb.TransferRequest {
		return &testpb.TransferRequest{Amount: amount, From: &testpb.Account{AccountId: account}}
	}
	const big = int64(1234567890123456789)
	tests := []struct {
		name    string
		expr    string
		request protoreflect.MessageDescriptor
		in      protojwt.ExpressionInput
		want    bool
		wantErr bool
	}{
		{"owner", getDoc, docDesc, protojwt.ExpressionInput{Claims: map[string]any{"sub": "alice", "roles": []any{"reader"}}, Request: doc("alice")}, true, false},
		{"admin", getDoc, docDesc, protojwt.ExpressionInput{Claims: map[string]any{"sub": "bob", "roles": []any{"reader", "admin"}}, Request: doc("alice")}, true, false},
		{"neither", getDoc, docDesc, protojwt.ExpressionInput{Claims: map[string]any{"sub": "bob", "roles": []any{"reader"}}, Request: doc("alice")}, false, false},
		{"owner, no roles claim", getDoc, docDesc, protojwt.ExpressionInput{Claims: map[string]any{"sub": "alice"}, Request: doc("alice")}, true, false},
		{"no roles claim, not owner", getDoc, docDesc, protojwt.ExpressionInput{Claims: map[string]any{"sub": "bob"}, Request: doc("alice")}, false, true},
		{"roles not a list", getDoc, docDesc, protojwt.ExpressionInput{Claims: map[string]any{"sub": "bob", "roles": "admin"}, Request: doc("alice")}, false, true},
		{"no request", getDoc, docDesc, protojwt.ExpressionInput{Claims: map[string]any{"sub": "alice", "roles": []any{}}}, false, true},
		{"typed nil request", getDoc, docDesc, protojwt.ExpressionInput{Claims: map[string]any{"sub": "alice", "roles": []any{}}, Request: (*testpb.GetDocumentRequest)(nil)}, false, true},
		{"empty owner never equals a missing sub", "request.owner == claims.sub", docDesc, protojwt.ExpressionInput{Claims: map[string]any{}, Request: doc("")}, false, true},
		{"nil claims", "'sub' in claims", docDesc, protojwt.ExpressionInput{Request: doc("")}, false, false},
		{"dynamic request message", getDoc, docDesc, protojwt.ExpressionInput{Claims: map[string]any{"sub": "alice", "roles": []any{}}, Request: dynamicDoc("alice")}, true, false},
		{"double limit, int amount", transfer, transferDesc, protojwt.ExpressionInput{Claims: map[string]any{"limit": 100.0, "account": json.Number("1234567890123456789")}, Request: xfer(100, big)}, true, false},
		{"over the limit", transfer, transferDesc, protojwt.ExpressionInput{Claims: map[string]any{"limit": 100.0, "account": json.Number("1234567890123456789")}, Request: xfer(101, big)}, false, false},
		{"a big account's neighbour", transfer, transferDesc, protojwt.ExpressionInput{Claims: map[string]any{"limit": 100.0, "account": json.Number("1234567890123456789")}, Request: xfer(1, big+1)}, false, false},
		{"an integer decoded as a float64 equals no neighbour", transfer, transferDesc, protojwt.ExpressionInput{Claims: map[string]any{"limit": 100.0, "account": float64(big)}, Request: xfer(1, big+1)}, false, false},
		{"an integer decoded as a float64 equals its value", transfer, transferDesc, protojwt.ExpressionInput{Claims: map[string]any{"limit": 100.0, "account": float64(big)}, Request: xfer(1, int64(float64(big)))}, true, false},
		{"missing limit", transfer, transferDesc, protojwt.ExpressionInput{Claims: map[string]any{"account": json.Number("1234567890123456789")}, Request: xfer(1, big)}, false, true},
		{"limit a string", transfer, transferDesc, protojwt.ExpressionInput{Claims: map[string]any{"limit": "100", "account": json.Number("1234567890123456789")}, Request: xfer(1, big)}, false, true},
		{"uint claim", "claims.n == 18446744073709551615u", nil, protojwt.ExpressionInput{Claims: map[string]any{"n": json.Number("18446744073709551615")}}, true, false},
		{"negative big claim", "claims.n == -1234567890123456789", nil, protojwt.ExpressionInput{Claims: map[string]any{"n": json.Number("-1234567890123456789")}}, true, false},
		{"claim beyond uint64", "claims.n > 0", nil, protojwt.ExpressionInput{Claims: map[string]any{"n": json.Number("18446744073709551616")}}, false, true},
		{"claim beyond uint64, unread", "claims.m == 1", nil, protojwt.ExpressionInput{Claims: map[string]any{"n": json.Number("18446744073709551616"), "m": 1.0}}, true, false},
		{"big integer in a list", "1234567890123456789 in claims.ids", nil, protojwt.ExpressionInput{Claims: map[string]any{"ids": []any{1.0, json.Number("1234567890123456789")}}}, true, false},
		{"nested objects", "claims.realm_access.roles.exists(r, r == 'orders-admin')", nil, protojwt.ExpressionInput{Claims: map[string]any{"realm_access": map[string]any{"roles": []any{"orders-admin"}}}}, true, false},
		{"has, present", "has(claims.roles) && 'admin' in claims.roles", nil, protojwt.ExpressionInput{Claims: map[string]any{"roles": []any{"admin"}}}, true, false},
		{"has, absent", "has(claims.roles) && 'admin' in claims.roles", nil, protojwt.ExpressionInput{Claims: map[string]any{"sub": "alice"}}, false, false},
		{"has on a request field", "has(request.from) && request.from.account_id == claims.account", transferDesc, protojwt.ExpressionInput{Claims: map[string]any{"account": 7.0}, Request: &testpb.TransferRequest{}}, false, false},
		{"a nested request message as a whole", "request.from == request.from", transferDesc, protojwt.ExpressionInput{Request: xfer(1, 2)}, true, false},
		{"null claim", "claims.manager == null", nil, protojwt.ExpressionInput{Claims: map[string]any{"manager": nil}}, true, false},
		{"bool claim", "claims.verified == true", nil, protojwt.ExpressionInput{Claims: map[string]any{"verified": true}}, true, false},
		{"number equals int", "claims.level == 3", nil, protojwt.ExpressionInput{Claims: map[string]any{"level": 3.0}}, true, false},
		{"path", "path.owner == claims.sub", nil, protojwt.ExpressionInput{Claims: map[string]any{"sub": "alice"}, Path: map[string]string{"owner": "alice"}}, true, false},
		{"path, another owner", "path.owner == claims.sub", nil, protojwt.ExpressionInput{Claims: map[string]any{"sub": "alice"}, Path: map[string]string{"owner": "bob"}}, false, false},
		{"path without the wildcard", "path.owner == claims.sub", nil, protojwt.ExpressionInput{Claims: map[string]any{"sub": "alice"}, Path: map[string]string{}}, false, true},
		{"nil path", "!('owner' in path)", nil, protojwt.ExpressionInput{Claims: map[string]any{"sub": "alice"}}, true, false},
		{"division by zero", "1 / (size(claims) - 1) == 1", nil, protojwt.ExpressionInput{Claims: map[string]any{"sub": "alice"}}, false, true},
		{"dyn that is no bool", "claims.admin == true", nil, protojwt.ExpressionInput{Claims: map[string]any{"admin": "yes"}}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := celexpr.New().Compile(tt.expr, tt.request)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tt.expr, err)
			}
			got, err := x.Eval(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Eval = %v, %v; want error: %v", got, err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("Eval = %v, want %v", got, tt.want)
			}
		})
	}
}

// dynamicDoc is a GetDocumentRequest as a dynamic message, as a server
// that reads descriptors at run time receives it.
func dynamicDoc(owner string) *dynamicpb.Message {
	m := dynamicpb.NewMessage(docDesc)
	m.Set(docDesc.Fields().ByName("owner"), protoreflect.ValueOfString(owner))
	return m
}

// TestCostLimit: a loop over a request's repeated field stops at the cost
// limit with an error, and fits under a higher one.
func TestCostLimit(t *testing.T) {
	const expr = "request.tags.all(a, request.tags.all(b, a == b || a != b))"
	tags := make([]string, 1000) // a million steps, if nothing stopped them
	for i := range tags {
		tags[i] = "t"
	}
	in := protojwt.ExpressionInput{Request: &testpb.AuditRequest{Tags: tags}}
	x, err := celexpr.New().Compile(expr, auditDesc)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := x.Eval(in); err == nil || !strings.Contains(err.Error(), "cost limit") {
		t.Fatalf("Eval with the default limit = %v, %v; want a cost limit error", got, err)
	}
	flat, err := celexpr.New().Compile("request.tags.all(t, t.size() < 64)", auditDesc)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := flat.Eval(in); err != nil || !got {
		t.Fatalf("a loop over 1000 tags = %v, %v; want true within the default limit", got, err)
	}
	small := protojwt.ExpressionInput{Request: &testpb.AuditRequest{Tags: tags[:10]}}
	if got, err := x.Eval(small); err != nil || !got {
		t.Fatalf("Eval of 10 tags = %v, %v; want true", got, err)
	}
	y, err := celexpr.New(celexpr.WithCostLimit(50)).Compile(expr, auditDesc)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := y.Eval(small); err == nil {
		t.Fatalf("Eval of 10 tags under a limit of 50 = %v, nil; want a cost limit error", got)
	}
}

// TestConcurrency: 100 goroutines compile on one Engine and evaluate one
// expression with inputs of their own; each gets its own answer.
func TestConcurrency(t *testing.T) {
	e := celexpr.New()
	const expr = "'admin' in claims.roles || request.owner == claims.sub"
	shared, err := e.Compile(expr, docDesc)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Go(func() {
			// Compiling again, for requests of several files and for HTTP,
			// shares the Engine's environments.
			descs := []protoreflect.MessageDescriptor{docDesc, transferDesc, nil}
			if _, err := e.Compile("claims.sub != ''", descs[i%len(descs)]); err != nil {
				errs <- err
				return
			}
			sub := fmt.Sprint("user", i)
			for j := range 50 {
				owner := sub
				if j%2 == 1 {
					owner = "someone else"
				}
				in := protojwt.ExpressionInput{
					Claims:  map[string]any{"sub": sub, "roles": []any{"reader"}},
					Request: &testpb.GetDocumentRequest{Owner: owner},
				}
				got, err := shared.Eval(in)
				if err != nil || got != (j%2 == 0) {
					errs <- fmt.Errorf("goroutine %d, call %d: Eval = %v, %v; want %v", i, j, got, err, j%2 == 0)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestCostTracking: the cost limit applies to the expressions whose cost
// can grow faster than their input (loops, a pattern read from the
// request) and to all of them when WithEnvOptions adds functions; the
// others, linear in their input, run untracked. A limit of 1 shows which.
func TestCostTracking(t *testing.T) {
	in := protojwt.ExpressionInput{
		Claims:  map[string]any{"sub": "alice", "roles": []any{"reader", "admin"}},
		Request: &testpb.GetDocumentRequest{Owner: "alice", Name: "a+"},
	}
	tests := []struct {
		expr    string
		env     bool // with WithEnvOptions
		tracked bool
	}{
		{"'admin' in claims.roles || request.owner == claims.sub", false, false},
		{"request.owner.matches('^[a-z]+$')", false, false},
		{"matches(request.owner, '^[a-z]+$')", false, false},
		{"size(request.owner + request.name) < 100 && request.owner.startsWith('a')", false, false},
		{"claims.roles.exists(r, r == 'admin')", false, true},
		{"claims.roles.all(r, r != '')", false, true},
		{"claims.roles.map(r, r).size() == 2", false, true},
		{"claims.roles.filter(r, r == 'admin').size() == 1", false, true},
		{"claims.roles.exists_one(r, r == 'admin')", false, true},
		{"request.owner.matches(request.name)", false, true},
		{"matches(request.owner, request.name)", false, true},
		{"request.owner == claims.sub", true, true},
	}
	for _, tt := range tests {
		opts := []celexpr.Option{celexpr.WithCostLimit(1)}
		if tt.env {
			opts = append(opts, celexpr.WithEnvOptions(ext.Strings()))
		}
		x, err := celexpr.New(opts...).Compile(tt.expr, docDesc)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tt.expr, err)
		}
		got, err := x.Eval(in)
		switch {
		case tt.tracked && (err == nil || !strings.Contains(err.Error(), "cost limit")):
			t.Errorf("%q (WithEnvOptions: %v): Eval = %v, %v; want a cost limit error", tt.expr, tt.env, got, err)
		case !tt.tracked && (err != nil || !got):
			t.Errorf("%q: Eval = %v, %v; want true, untracked", tt.expr, got, err)
		}
	}
}

// TestZeroEngine: the zero Engine compiles, evaluates and limits cost as
// New() does.
func TestZeroEngine(t *testing.T) {
	var e celexpr.Engine
	x, err := e.Compile("request.tags.all(a, request.tags.all(b, a == b || a != b))", auditDesc)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := x.Eval(protojwt.ExpressionInput{Request: &testpb.AuditRequest{Tags: make([]string, 10)}}); err != nil || !got {
		t.Fatalf("Eval of 10 tags = %v, %v; want true", got, err)
	}
	if got, err := x.Eval(protojwt.ExpressionInput{Request: &testpb.AuditRequest{Tags: make([]string, 1000)}}); err == nil {
		t.Fatalf("Eval of 1000 tags = %v, nil; want the default cost limit reached", got)
	}
	if _, err := e.Compile("path.owner == claims.sub", nil); err != nil {
		t.Fatal(err)
	}
}

// TestClaimLists: array claims behave as CEL lists in every operation, not
// only in `in`: indexing, size, equality both ways, concatenation, loops.
func TestClaimLists(t *testing.T) {
	claims := map[string]any{
		"roles":  []any{"reader", "admin", 7.0, json.Number("1234567890123456789"), nil, map[string]any{"a": "b"}, []any{"x"}},
		"groups": []any{"a", "b"},
		"empty":  []any{},
	}
	tests := []struct {
		expr    string
		want    bool
		wantErr bool
	}{
		{"'admin' in claims.roles", true, false},
		{"'Admin' in claims.roles", false, false},
		{"'' in claims.roles", false, false},
		{"7 in claims.roles", true, false},
		{"1234567890123456789 in claims.roles", true, false},
		{"null in claims.roles", true, false},
		{"{'a': 'b'} in claims.roles", true, false},
		{"['x'] in claims.roles", true, false},
		{"size(claims.roles) == 7 && claims.roles.size() == 7", true, false},
		{"claims.roles[1] == 'admin'", true, false},
		{"claims.roles[7] == 'admin'", false, true},
		{"claims.groups == ['a', 'b'] && ['a', 'b'] == claims.groups", true, false},
		{"claims.groups == ['b', 'a']", false, false},
		{"claims.groups + ['c'] == ['a', 'b', 'c']", true, false},
		{"claims.groups.exists(g, g == 'b') && claims.groups.all(g, g != 'c')", true, false},
		{"claims.groups.map(g, g + '!') == ['a!', 'b!']", true, false},
		{"claims.groups.filter(g, g == 'a') == ['a']", true, false},
		{"dyn(claims.groups) == ['a', 'b']", true, false},
		{"size(claims.empty) == 0 && !('a' in claims.empty)", true, false},
		{"claims.roles[0].startsWith('read')", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			x, err := celexpr.New().Compile(tt.expr, nil)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			got, err := x.Eval(protojwt.ExpressionInput{Claims: claims})
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("Eval = %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
