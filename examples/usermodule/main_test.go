package main

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"example.com/usermodule/greeterpb"
	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/manager"
)

// TestCallsThroughTheInterceptor serves the generated service over bufconn
// and calls it as a client would: the rules of greeter.proto, read through
// the options of the exported annotations.proto, decide every call.
func TestCallsThroughTheInterceptor(t *testing.T) {
	m, err := manager.New(manager.Config{
		Issuer:    "greeter",
		Algorithm: "HS256",
		Secret:    []byte("a test secret of at least 32 bytes!"),
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := newServer(m)
	if err != nil {
		t.Fatal(err)
	}
	lis := bufconn.Listen(1 << 20)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	client := greeterpb.NewGreeterServiceClient(conn)

	auth, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	refresh, err := m.RefreshToken("alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	bearer := func(token string) context.Context {
		return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
	}
	asAlice := bearer(auth.Signed)
	// Forward's expr reads the roles claim, which alice's token lacks.
	withRoles := func(sub string, roles any) context.Context {
		tok, err := m.AuthToken(sub, nil, map[string]any{"roles": roles})
		if err != nil {
			t.Fatal(err)
		}
		return bearer(tok.Signed)
	}
	asPostmaster := withRoles("carol", []string{"postmaster"})
	asClerk := withRoles("alice", []string{"clerk"})

	hello, err := client.Hello(asAlice, &greeterpb.HelloRequest{})
	if err != nil || hello.GetGreeting() != "Hello, alice!" {
		t.Errorf("Hello as alice: %q, %v", hello.GetGreeting(), err)
	}
	box, err := client.Mailbox(asAlice, &greeterpb.MailboxRequest{Name: "alice"})
	if err != nil || box.GetUnread() != 2 {
		t.Errorf("alice's mailbox as alice: %d, %v", box.GetUnread(), err)
	}
	fwd, err := client.Forward(asAlice, &greeterpb.ForwardRequest{From: "alice", To: "bob"})
	if err != nil || fwd.GetForwardedTo() != "bob" {
		t.Errorf("Forward from alice as alice: %q, %v", fwd.GetForwardedTo(), err)
	}
	fwd, err = client.Forward(asPostmaster, &greeterpb.ForwardRequest{From: "bob", To: "alice"})
	if err != nil || fwd.GetForwardedTo() != "alice" {
		t.Errorf("Forward from bob as a postmaster: %q, %v", fwd.GetForwardedTo(), err)
	}
	if _, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Errorf("health without a token: %v", err)
	}

	denials := []struct {
		name   string
		call   func() error
		code   codes.Code
		reason string
	}{
		{"Hello without a token", func() error {
			_, err := client.Hello(context.Background(), &greeterpb.HelloRequest{})
			return err
		}, codes.Unauthenticated, protojwt.ReasonTokenMissing},
		{"Hello with a refresh token", func() error {
			_, err := client.Hello(bearer(refresh.Signed), &greeterpb.HelloRequest{})
			return err
		}, codes.Unauthenticated, protojwt.ReasonTokenType},
		{"Hello with a forged token", func() error {
			_, err := client.Hello(bearer(auth.Signed[:len(auth.Signed)-2]+"xx"), &greeterpb.HelloRequest{})
			return err
		}, codes.Unauthenticated, protojwt.ReasonTokenInvalid},
		{"bob's mailbox as alice", func() error {
			_, err := client.Mailbox(asAlice, &greeterpb.MailboxRequest{Name: "bob"})
			return err
		}, codes.PermissionDenied, protojwt.ReasonClaimMismatch},
		{"a mailbox of no name as alice", func() error {
			_, err := client.Mailbox(asAlice, &greeterpb.MailboxRequest{})
			return err
		}, codes.PermissionDenied, protojwt.ReasonClaimMismatch},
		{"Forward from bob as alice, a clerk", func() error {
			_, err := client.Forward(asClerk, &greeterpb.ForwardRequest{From: "bob", To: "alice"})
			return err
		}, codes.PermissionDenied, protojwt.ReasonExpressionFalse},
		{"Forward from no one as alice, a clerk", func() error {
			_, err := client.Forward(asClerk, &greeterpb.ForwardRequest{To: "bob"})
			return err
		}, codes.PermissionDenied, protojwt.ReasonExpressionFalse},
		// CEL's `in` on a claim the token lacks is an evaluation error, not
		// false: both deny, with their own reasons.
		{"Forward from bob as alice, without roles", func() error {
			_, err := client.Forward(asAlice, &greeterpb.ForwardRequest{From: "bob", To: "alice"})
			return err
		}, codes.PermissionDenied, protojwt.ReasonExpressionError},
		{"Forward from bob with roles a string, not a list", func() error {
			_, err := client.Forward(withRoles("carol", "postmaster"), &greeterpb.ForwardRequest{From: "bob", To: "alice"})
			return err
		}, codes.PermissionDenied, protojwt.ReasonExpressionError},
		{"Forward without a token", func() error {
			_, err := client.Forward(context.Background(), &greeterpb.ForwardRequest{From: "alice", To: "bob"})
			return err
		}, codes.Unauthenticated, protojwt.ReasonTokenMissing},
	}
	for _, d := range denials {
		err := d.call()
		reason, _ := protojwt.ReasonOf(err)
		if status.Code(err) != d.code || reason != d.reason {
			t.Errorf("%s: %v (reason %q), want %v with %s", d.name, err, reason, d.code, d.reason)
		}
	}
}
