package connectauth_test

import (
	"fmt"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/grpc/status"

	"github.com/protojwt/protojwt/internal/testpb"
)

// TestConcurrentCalls runs 100 goroutines at once through one interceptor,
// each with the token of its own subject, over the three protocols: every
// handler sees its caller's token and no other, and every denial is its
// caller's.
func TestConcurrentCalls(t *testing.T) {
	m := newManager(t)
	ts := startServer(t, m)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := protocols[g%len(protocols)]
			sub := fmt.Sprintf("user-%d", g)
			auth := []string{bearer(authToken(t, m, sub, nil, nil))}
			for range 5 {
				r, err := p.unary(t, ts, methodFieldTop, &testpb.FieldTopRequest{Username: sub}, auth)
				if err != nil || r.GetSubject() != sub {
					errs <- fmt.Errorf("%s %s: handler saw %v, %v", p.name, sub, r, err)
					return
				}
				_, err = p.unary(t, ts, methodFieldTop, &testpb.FieldTopRequest{Username: "someone-else"}, auth)
				if code := codeOfErr(err); code != connect.CodePermissionDenied {
					errs <- fmt.Errorf("%s %s: another's call got %v", p.name, sub, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// codeOfErr returns the code of a connect error or a gRPC status error,
// 0 for nil.
func codeOfErr(err error) connect.Code {
	if err == nil {
		return 0
	}
	if st, ok := status.FromError(err); ok {
		return connect.Code(st.Code())
	}
	return connect.CodeOf(err)
}
