package interceptor_test

import (
	"context"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/rpctest"
	"github.com/protojwt/protojwt/internal/testpb"
)

// copyOfTestFiles returns a resolver with testpb's file and its imports,
// rebuilt from descriptor protos: the same names as the generated types,
// other descriptor values.
func copyOfTestFiles(t testing.TB) *protoregistry.Files {
	t.Helper()
	set := rpctest.FileDescriptorSet(testpb.File_protojwt_test_v1_test_proto)
	files, err := protodesc.NewFiles(set)
	if err != nil {
		t.Fatalf("protodesc.NewFiles: %v", err)
	}
	return files
}

// TestResolverCopy serves the generated services with rules read from a
// copy of their descriptors: field accessors are resolved again against the
// generated messages' own descriptors, once, by many calls at once.
func TestResolverCopy(t *testing.T) {
	m := newManager(t)
	ts := startServer(t, m, interceptor.WithResolver(copyOfTestFiles(t)))
	plain := []string{bearer(authToken(t, m, "alice", nil, nil))}
	runUnary(t, ts, []unaryCase{
		{Name: "nested/equal", Method: methodFieldNested, Request: &testpb.FieldNestedRequest{User: &testpb.User{Id: "alice"}}, Auth: plain, Subject: "alice"},
		{Name: "nested/other", Method: methodFieldNested, Request: &testpb.FieldNestedRequest{User: &testpb.User{Id: "bob"}}, Auth: plain, Code: codes.PermissionDenied, Reason: "CLAIM_MISMATCH"},
		{Name: "enum/equal", Method: methodFieldEnum, Request: &testpb.FieldEnumRequest{Role: testpb.Role_ROLE_READER}, Auth: []string{bearer(authToken(t, m, "alice", nil, map[string]any{"role": "ROLE_READER"}))}, Subject: "alice"},
		{Name: "undeclared", Method: methodUndeclared, Request: &testpb.UndeclaredRequest{}, Auth: plain, Code: codes.PermissionDenied, Reason: "METHOD_NOT_DECLARED"},
	})

	t.Run("concurrent", func(t *testing.T) {
		auth, err := interceptor.New(m, interceptor.WithResolver(copyOfTestFiles(t)))
		if err != nil {
			t.Fatal(err)
		}
		unary := auth.Unary()
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", plain[0]))
		info := &grpc.UnaryServerInfo{FullMethod: methodFieldNested}
		noop := func(context.Context, any) (any, error) { return nil, nil }
		var wg sync.WaitGroup
		errs := make(chan error, 200)
		for g := range 100 {
			wg.Go(func() {
				id := "alice"
				if g%2 == 1 {
					id = "bob"
				}
				_, err := unary(ctx, &testpb.FieldNestedRequest{User: &testpb.User{Id: id}}, info, noop)
				if (err == nil) != (id == "alice") {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("goroutine got %v", err)
		}
	})
}
