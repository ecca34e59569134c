package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/protojwt/protojwt"
	pb "github.com/protojwt/protojwt/examples/idp/idppb"
	"github.com/protojwt/protojwt/examples/idp/provider"
)

// runDemo starts the provider and the service on loopback and walks the
// calls, one table row each.
func runDemo(ctx context.Context, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	fmt.Fprintln(out, "starting an OpenID Provider on loopback (oidc-provider under Node.js)...")
	op, err := provider.Start(ctx)
	if err != nil {
		return err
	}
	defer op.Stop()
	secret := make([]byte, 32)
	rand.Read(secret)
	svc, err := newService(ctx, op.Issuer, provider.Resource, secret)
	if err != nil {
		return err
	}
	defer svc.close()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = svc.server.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	client := pb.NewOrdersServiceClient(conn)
	fmt.Fprintf(out, "provider %s, service on %s\n\n", op.Issuer, lis.Addr())

	// Tokens, as clients get them.
	service, err := op.ServiceToken(ctx, "orders:read")
	if err != nil {
		return err
	}
	aliceID, alice, err := op.Login(ctx, "alice") // tenant acme, orders-admin, gold
	if err != nil {
		return err
	}
	_, bob, err := op.Login(ctx, "bob") // tenant globex, user, free
	if err != nil {
		return err
	}
	job, err := svc.jobs.AuthToken("nightly-billing", "billing", nil)
	if err != nil {
		return err
	}
	writeOnly, err := op.ServiceToken(ctx, "orders:write") // no orders:read
	if err != nil {
		return err
	}

	type step struct {
		what   string
		token  string
		call   func(context.Context) error
		reason string // "" for allowed
	}
	list := func(tenant string) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := client.ListOrders(ctx, &pb.ListOrdersRequest{Tenant: tenant})
			return err
		}
	}
	del := func(tenant string) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := client.DeleteOrder(ctx, &pb.DeleteOrderRequest{Tenant: tenant, Order: tenant + "-1001"})
			return err
		}
	}
	billing := func(ctx context.Context) error {
		_, err := client.RunBilling(ctx, &pb.RunBillingRequest{})
		return err
	}
	steps := []step{
		{"service token lists its tenant's orders (scope orders:read, tenant)", service, list("acme"), ""},
		{"service token lists another tenant's orders", service, list("globex"), protojwt.ReasonClaimMismatch},
		{"a token without orders:read lists orders", writeOnly, list("acme"), protojwt.ReasonScopeMissing},
		{"alice's login lists her tenant's orders", alice, list("acme"), ""},
		{"alice deletes an order (realm role orders-admin, tier gold)", alice, del("acme"), ""},
		{"bob deletes an order of his tenant (role user, tier free)", bob, del("globex"), protojwt.ReasonClaimMismatch},
		{"alice's ID token used as an access token", aliceID, list("acme"), protojwt.ReasonTokenType},
		{"the nightly job runs billing (jobs issuer, scope billing)", job.Signed, billing, ""},
		{"alice runs billing (not the jobs issuer: check iss comes before scopes)", alice, billing, protojwt.ReasonClaimMismatch},
		{"a job token lists orders (no orders:read, no tenant)", job.Signed, list("acme"), protojwt.ReasonClaimMismatch},
		{"no token", "", list("acme"), protojwt.ReasonTokenMissing},
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tWANT\tGOT\t")
	failed := 0
	for _, s := range steps {
		callCtx := ctx
		if s.token != "" {
			callCtx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+s.token)
		}
		err := s.call(callCtx)
		got := "allowed"
		if err != nil {
			got, _ = protojwt.ReasonOf(err)
			if got == "" {
				got = err.Error()
			}
		}
		want := s.reason
		if want == "" {
			want = "allowed"
		}
		mark := "ok"
		if got != want {
			mark, failed = "UNEXPECTED", failed+1
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.what, want, got, mark)
	}
	tw.Flush()
	if failed > 0 {
		return fmt.Errorf("%d step(s) did not behave as documented", failed)
	}
	fmt.Fprintln(out, "\nevery step behaved as documented")
	return nil
}
