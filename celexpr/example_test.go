package celexpr_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"

	"github.com/google/cel-go/ext"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/celexpr"
	"github.com/protojwt/protojwt/celexpr/internal/testpb"
	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/manager"
)

// Example serves DocumentService, whose GetDocument has the rule
//
//	option (protojwt.v1.rule) = {expr: "'admin' in claims.roles || request.owner == claims.sub"};
//
// and calls it as alice for her document, for bob's, and as an admin.
func Example() {
	m, err := manager.New(manager.Config{
		Issuer:    "example",
		Algorithm: "HS256",
		Secret:    []byte("an example secret of at least 32 bytes"),
	})
	if err != nil {
		log.Fatal(err)
	}
	auth, err := interceptor.New(m, interceptor.WithExpressions(celexpr.New()))
	if err != nil {
		log.Fatal(err) // an expr that does not compile, named with its method
	}
	s := grpc.NewServer(grpc.UnaryInterceptor(auth.Unary()), grpc.StreamInterceptor(auth.Stream()))
	testpb.RegisterDocumentServiceServer(s, documents{})
	lis := bufconn.Listen(1 << 20)
	go func() { _ = s.Serve(lis) }()
	defer s.Stop()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	client := testpb.NewDocumentServiceClient(conn)

	call := func(sub string, roles []string, owner string) {
		tok, err := m.AuthToken(sub, nil, map[string]any{"roles": roles})
		if err != nil {
			log.Fatal(err)
		}
		ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok.Signed)
		_, err = client.GetDocument(ctx, &testpb.GetDocumentRequest{Owner: owner, Name: "notes"})
		if reason, ok := protojwt.ReasonOf(err); ok {
			fmt.Printf("%s reads %s's notes: %v %s\n", sub, owner, status.Code(err), reason)
			return
		}
		fmt.Printf("%s reads %s's notes: %v\n", sub, owner, status.Code(err))
	}
	call("alice", []string{"reader"}, "alice")
	call("alice", []string{"reader"}, "bob")
	call("root", []string{"admin"}, "bob")
	// Output:
	// alice reads alice's notes: OK
	// alice reads bob's notes: PermissionDenied EXPRESSION_FALSE
	// root reads bob's notes: OK
}

// Example_http guards a net/http route with an expression over the path
// wildcards, beside a declarative requirement.
func Example_http() {
	m, err := manager.New(manager.Config{
		Issuer:    "example",
		Algorithm: "HS256",
		Secret:    []byte("an example secret of at least 32 bytes"),
	})
	if err != nil {
		log.Fatal(err)
	}
	guard := httpauth.New(m, httpauth.WithExpressions(celexpr.New()))
	mux := http.NewServeMux()
	guard.HandleFunc(mux, "GET /users/{owner}/docs", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "the documents")
	},
		httpauth.Scopes("docs:read"),
		httpauth.Expr("path.owner == claims.sub || claims.level >= 3"))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tok, err := m.AuthToken("alice", "docs:read", map[string]any{"level": 1})
	if err != nil {
		log.Fatal(err)
	}
	for _, owner := range []string{"alice", "bob"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/users/"+owner+"/docs", nil)
		req.Header.Set("Authorization", "Bearer "+tok.Signed)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%s: %d %s\n", owner, resp.StatusCode, body)
	}
	// Output:
	// alice: 200 the documents
	// bob: 403 {"error":"rule expression is false","reason":"EXPRESSION_FALSE"}
}

// ExampleEngine_Compile compiles an expression against a request message,
// as the adapters do when they are built, and evaluates it.
func ExampleEngine_Compile() {
	request := (&testpb.TransferRequest{}).ProtoReflect().Descriptor()
	x, err := celexpr.New().Compile("request.amount <= claims.limit", request)
	if err != nil {
		log.Fatal(err)
	}
	for _, amount := range []int64{100, 101} {
		ok, err := x.Eval(protojwt.ExpressionInput{
			Claims:  map[string]any{"limit": 100.0},
			Request: &testpb.TransferRequest{Amount: amount},
		})
		fmt.Println(amount, ok, err)
	}
	_, err = celexpr.New().Compile("request.amout <= claims.limit", request)
	fmt.Println(err != nil)
	// Output:
	// 100 true <nil>
	// 101 false <nil>
	// true
}

// ExampleWithCostLimit stops an expression that would loop over a
// client's long list.
func ExampleWithCostLimit() {
	request := (&testpb.AuditRequest{}).ProtoReflect().Descriptor()
	x, err := celexpr.New(celexpr.WithCostLimit(1000)).Compile("request.tags.all(t, t.size() < 64)", request)
	if err != nil {
		log.Fatal(err)
	}
	for _, n := range []int{10, 10_000} {
		_, err := x.Eval(protojwt.ExpressionInput{Request: &testpb.AuditRequest{Tags: make([]string, n)}})
		fmt.Println(n, "tags:", err)
	}
	// Output:
	// 10 tags: <nil>
	// 10000 tags: celexpr: operation cancelled: actual cost limit exceeded
}

// ExampleWithEnvOptions adds cel-go's string extensions.
func ExampleWithEnvOptions() {
	x, err := celexpr.New(celexpr.WithEnvOptions(ext.Strings())).
		Compile("claims.email.lowerAscii().endsWith('@acme.example')", nil)
	if err != nil {
		log.Fatal(err)
	}
	ok, err := x.Eval(protojwt.ExpressionInput{Claims: map[string]any{"email": "Ann@ACME.example"}})
	fmt.Println(ok, err)
	// Output: true <nil>
}
