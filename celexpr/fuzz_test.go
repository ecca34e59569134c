package celexpr_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/celexpr"
	"github.com/protojwt/protojwt/celexpr/internal/testpb"
)

// FuzzCompileEval compiles any expression against GetDocumentRequest and
// evaluates what compiles on any claims: nothing panics, the answer is the
// same twice, and an expression that does not read the request answers
// the same without one, as a stream's open check relies on.
func FuzzCompileEval(f *testing.F) {
	for _, seed := range []struct{ expr, claims, owner string }{
		{"'admin' in claims.roles || request.owner == claims.sub", `{"sub":"alice","roles":["reader"]}`, "alice"},
		{"claims.account == 1234567890123456789", `{"account":1234567890123456789}`, ""},
		{"claims.n > 0u", `{"n":18446744073709551616}`, ""},
		{"has(claims.a.b) && claims.a.b.exists(x, x == request.name)", `{"a":{"b":["x",1,null,true]}}`, "x"},
		{"request.name.matches(claims.re)", `{"re":"(a+)+$"}`, "aaaa"},
		{"size(claims) == 2 && claims.map({}) == null", `{"x":{},"y":[]}`, ""},
	} {
		f.Add(seed.expr, []byte(seed.claims), seed.owner)
	}
	e := celexpr.New(celexpr.WithCostLimit(1000))
	f.Fuzz(func(t *testing.T, expr string, claimsJSON []byte, owner string) {
		x, err := e.Compile(expr, docDesc)
		if err != nil {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(claimsJSON))
		dec.UseNumber()
		var claims map[string]any
		if dec.Decode(&claims) != nil {
			claims = map[string]any{"sub": string(claimsJSON)}
		}
		in := protojwt.ExpressionInput{Claims: claims, Request: &testpb.GetDocumentRequest{Owner: owner, Name: owner}}
		got, err := x.Eval(in)
		again, errAgain := x.Eval(in)
		if got != again || (err == nil) != (errAgain == nil) {
			t.Fatalf("%q: Eval = %v, %v, then %v, %v", expr, got, err, again, errAgain)
		}
		if x.ReadsRequest() {
			return
		}
		noRequest, errNoRequest := x.Eval(protojwt.ExpressionInput{Claims: claims})
		if noRequest != got || (errNoRequest == nil) != (err == nil) {
			t.Fatalf("%q reads no request, yet Eval = %v, %v with one and %v, %v without", expr, got, err, noRequest, errNoRequest)
		}
	})
}
