package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TestStacks checks that every stack of every algorithm serves a valid
// token and that the authenticating ones refuse a token of other keys and a
// request for another user: the benchmarks compare stacks that do the job.
func TestStacks(t *testing.T) {
	for _, alg := range Algorithms {
		s := setupOf(t, alg)
		stranger, err := NewSetup(alg)
		if err != nil {
			t.Fatal(err)
		}
		for _, stack := range Stacks {
			t.Run(alg+"/"+stack, func(t *testing.T) {
				srv, err := s.StartGRPC(stack)
				if err != nil {
					t.Fatal(err)
				}
				defer srv.Close()
				for _, tok := range []string{s.Token, s.Fresh[0]} {
					if err := srv.Echo(outgoing([]string{tok})[0], wrapperspb.String(Subject)); err != nil {
						t.Fatalf("gRPC call with a valid token: %v", err)
					}
				}
				h, err := s.HTTPHandler(stack)
				if err != nil {
					t.Fatal(err)
				}
				if code := serve(h, s.Token, Subject); code != http.StatusNoContent {
					t.Fatalf("HTTP request with a valid token: status %d", code)
				}
				if stack == StackNone {
					return
				}
				err = srv.Echo(outgoing([]string{stranger.Token})[0], wrapperspb.String(Subject))
				if status.Code(err) != codes.Unauthenticated {
					t.Errorf("gRPC call with a token of other keys: %v, want Unauthenticated", err)
				}
				if code := serve(h, stranger.Token, Subject); code != http.StatusUnauthorized {
					t.Errorf("HTTP request with a token of other keys: status %d, want 401", code)
				}
				if code := serve(h, s.Token, "bob"); code != http.StatusForbidden {
					t.Errorf("HTTP request for another user: status %d, want 403", code)
				}
				if stack == StackPeer {
					return // the auth interceptor can't see the request
				}
				err = srv.Echo(outgoing([]string{s.Token})[0], wrapperspb.String("bob"))
				if status.Code(err) != codes.PermissionDenied {
					t.Errorf("gRPC call for another user: %v, want PermissionDenied", err)
				}
			})
		}
	}
}

// serve sends a GET /users/{user} with token to h and returns the status.
func serve(h http.Handler, token, user string) int {
	r := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/users/"+user, nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}
