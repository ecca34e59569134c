package connectauth_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"connectrpc.com/connect"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/connectauth"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/internal/testpb/testpbconnect"
	"github.com/protojwt/protojwt/manager"
)

// users answers FieldTop, whose rule in the .proto file is that the
// token's subject equals the request's username.
type users struct {
	testpbconnect.UnimplementedGuardedServiceHandler
}

func (users) FieldTop(ctx context.Context, _ *connect.Request[testpb.FieldTopRequest]) (*connect.Response[testpb.FieldTopResponse], error) {
	tok, _ := manager.FromContext(ctx) // the verified token
	return connect.NewResponse(&testpb.FieldTopResponse{Reply: &testpb.Reply{Subject: tok.Subject, HasToken: true}}), nil
}

// The interceptor is given to the handlers of a connect service; a client
// reads why a call was refused with protojwt.ReasonOf.
func Example() {
	m, err := manager.New(manager.Config{
		Issuer:    "https://auth.example.com",
		Algorithm: "HS256",
		Secret:    []byte("use-32-random-bytes-in-real-life"),
	})
	if err != nil {
		log.Fatal(err)
	}
	auth, err := connectauth.New(m) // compiles the rule of every method
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(testpbconnect.NewGuardedServiceHandler(users{}, connect.WithInterceptors(auth)))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	client := testpbconnect.NewGuardedServiceClient(srv.Client(), srv.URL)
	tok, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, username := range []string{"alice", "bob"} {
		req := connect.NewRequest(&testpb.FieldTopRequest{Username: username})
		req.Header().Set("Authorization", "Bearer "+tok.Signed)
		resp, err := client.FieldTop(context.Background(), req)
		if err != nil {
			reason, _ := protojwt.ReasonOf(err)
			fmt.Println(username+":", connect.CodeOf(err), reason)
			continue
		}
		fmt.Println(username+": served to", resp.Msg.GetReply().GetSubject())
	}
	// Output:
	// alice: served to alice
	// bob: permission_denied CLAIM_MISMATCH
}
