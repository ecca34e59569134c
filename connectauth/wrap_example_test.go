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

// The mux is served through Wrap, which refuses a call without a valid
// token before connect reads its body; the interceptor on the handlers
// checks what reads the request once it is decoded.
func ExampleInterceptor_Wrap() {
	m, err := manager.New(manager.Config{
		Issuer:    "https://auth.example.com",
		Algorithm: "HS256",
		Secret:    []byte("use-32-random-bytes-in-real-life"),
	})
	if err != nil {
		log.Fatal(err)
	}
	auth, err := connectauth.New(m)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(testpbconnect.NewGuardedServiceHandler(users{},
		connect.WithInterceptors(auth), // the same Interceptor as Wrap's
		connect.WithReadMaxBytes(4<<20)))
	srv := httptest.NewServer(auth.Wrap(mux)) // http.ListenAndServe(addr, auth.Wrap(mux))
	defer srv.Close()

	client := testpbconnect.NewGuardedServiceClient(srv.Client(), srv.URL)
	tok, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, call := range []struct{ username, authorization string }{
		{"alice", "Bearer " + tok.Signed},
		{"bob", "Bearer " + tok.Signed}, // decided by the interceptor, with the request
		{"alice", ""},                   // refused by Wrap, from the headers
	} {
		req := connect.NewRequest(&testpb.FieldTopRequest{Username: call.username})
		if call.authorization != "" {
			req.Header().Set("Authorization", call.authorization)
		}
		resp, err := client.FieldTop(context.Background(), req)
		if err != nil {
			reason, _ := protojwt.ReasonOf(err)
			fmt.Println(call.username+":", connect.CodeOf(err), reason)
			continue
		}
		fmt.Println(call.username+": served to", resp.Msg.GetReply().GetSubject())
	}
	// Output:
	// alice: served to alice
	// bob: permission_denied CLAIM_MISMATCH
	// alice: unauthenticated TOKEN_MISSING
}
