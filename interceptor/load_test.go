package interceptor_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/hostiletest"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/manager"
	"github.com/protojwt/protojwt/revocation"
)

// flakyStore is a revocation store that can't answer for the subject
// "flaky": a store outage seen by some requests only.
type flakyStore struct {
	revocation.Store
}

var errLoadStoreDown = errors.New("store down")

func (s flakyStore) Revoked(ctx context.Context, subject string, ids []string, issuedAt time.Time) (bool, error) {
	if subject == "flaky" {
		return false, errLoadStoreDown
	}
	return s.Store.Revoked(ctx, subject, ids, issuedAt)
}

// loadKind is one kind of request of the load test and what it must get.
type loadKind struct {
	name     string
	auth     []string
	username string     // FieldTop's username, Chat's sender
	stream   bool       // Chat instead of FieldTop
	code     codes.Code // codes.OK: allowed, the handler sees username
	reason   string
}

// loadKinds returns the requests of the load test: valid tokens of several
// subjects, refusals of every stage, revoked tokens and a store outage.
func loadKinds(t *testing.T, m *manager.Manager) []loadKind {
	t.Helper()
	ctx := context.Background()
	revoked := authToken(t, m, "carol", nil, nil)
	tok, err := m.Verify(ctx, revoked)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Revoke(ctx, tok); err != nil {
		t.Fatal(err)
	}
	earlier := newManager(t, clockAt(-10*time.Minute))
	daves := authToken(t, earlier, "dave", nil, nil)
	if err := m.RevokeSubject(ctx, "dave"); err != nil {
		t.Fatal(err)
	}
	past := newManager(t, clockAt(-2*time.Hour))
	forged := authToken(t, newManagerWith(t, manager.Config{Issuer: testIssuer, Algorithm: "HS256", Secret: []byte(strings.Repeat("x", 32))}), "alice", nil, nil)
	invalid, unauth := protojwt.ReasonTokenInvalid, codes.Unauthenticated

	kinds := []loadKind{
		{"no token", nil, "alice", false, unauth, protojwt.ReasonTokenMissing},
		{"forged", []string{bearer(forged)}, "alice", false, unauth, invalid},
		{"expired", []string{bearer(authToken(t, past, "alice", nil, nil))}, "alice", false, unauth, protojwt.ReasonTokenExpired},
		{"refresh token", []string{bearer(refreshToken(t, m, "alice", nil))}, "alice", false, unauth, protojwt.ReasonTokenType},
		{"two values", []string{bearer(authToken(t, m, "alice", nil, nil)), bearer(authToken(t, m, "alice", nil, nil))}, "alice", false, unauth, protojwt.ReasonRequestMalformed},
		{"oversized", []string{bearer(hostiletest.OversizedToken(64 << 10))}, "alice", false, unauth, invalid},
		{"another subject", []string{bearer(authToken(t, m, "mallory", nil, nil))}, "alice", false, codes.PermissionDenied, protojwt.ReasonClaimMismatch},
		{"revoked by id", []string{bearer(revoked)}, "carol", false, unauth, protojwt.ReasonTokenRevoked},
		{"revoked by subject", []string{bearer(daves)}, "dave", false, unauth, protojwt.ReasonTokenRevoked},
		{"store outage", []string{bearer(authToken(t, m, "flaky", nil, nil))}, "flaky", false, codes.Unavailable, protojwt.ReasonRevocationUnavailable},
		{"stream, another sender", []string{bearer(authToken(t, m, "erin", nil, nil))}, "mallory", true, codes.PermissionDenied, protojwt.ReasonClaimMismatch},
		{"stream, revoked", []string{bearer(revoked)}, "carol", true, unauth, protojwt.ReasonTokenRevoked},
	}
	// As many valid requests as refused ones, from several subjects, each
	// with a token of its own and tokens shared by many requests.
	for i, user := range []string{"alice", "bob", "erin", "frank", "grace", "heidi", "ivan", "judy", "alice", "bob", "erin", "frank"} {
		kinds = append(kinds, loadKind{
			name: "valid " + user, auth: []string{bearer(authToken(t, m, user, nil, nil))},
			username: user, stream: i%4 == 3, code: codes.OK,
		})
	}
	return kinds
}

// TestLoopbackLoad runs a fixed number of requests from 16 concurrent
// clients over 4 connections to a gRPC server on 127.0.0.1, half valid and
// half refused at every stage (no token, forged, expired, wrong type,
// several values, oversized, claim mismatch, revoked, store outage), over
// unary calls and streams. Every valid request gets through with its own
// subject, every other is refused with its own code and reason, and once
// the server stops, no goroutine is left behind.
func TestLoopbackLoad(t *testing.T) {
	total := 2000
	if !testing.Short() && !raceEnabled {
		total = 8000
	}
	const clients, conns = 16, 4

	store, err := revocation.NewMemoryStore()
	if err != nil {
		t.Fatal(err)
	}
	m := newManager(t, manager.WithRevocation(flakyStore{store}))
	kinds := loadKinds(t, m)
	before := runtime.NumGoroutine()

	auth, err := interceptor.New(m)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(auth.Unary()), grpc.StreamInterceptor(auth.Stream()))
	testpb.RegisterGuardedServiceServer(srv, &guarded{})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()

	var clientConns []*grpc.ClientConn
	for range conns {
		cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		clientConns = append(clientConns, cc)
	}

	var (
		next, allowed, refused atomic.Int64
		mu                     sync.Mutex
		failures               []string
		wg                     sync.WaitGroup
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 10 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(total) {
					return
				}
				k := kinds[i%int64(len(kinds))]
				client := testpb.NewGuardedServiceClient(clientConns[i%conns])
				subject, err := loadCall(client, k)
				switch st := status.Convert(err); {
				case st.Code() != k.code:
					fail("request %d (%s): %v, want %v", i, k.name, err, k.code)
				case k.code == codes.OK && subject != k.username:
					fail("request %d (%s): handler saw %q", i, k.name, subject)
				case k.code == codes.OK:
					allowed.Add(1)
				case reasonOfStatus(st) != k.reason:
					fail("request %d (%s): reason %q, want %s", i, k.name, reasonOfStatus(st), k.reason)
				default:
					refused.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, f := range failures {
		t.Error(f)
	}
	if got := allowed.Load() + refused.Load(); got != int64(total) {
		t.Errorf("%d of %d requests answered as expected", got, total)
	}
	t.Logf("%d requests (%d allowed, %d refused) from %d clients in %v", total, allowed.Load(), refused.Load(), clients, elapsed)

	for _, cc := range clientConns {
		cc.Close()
	}
	srv.Stop()
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	checkNoGoroutineLeak(t, before)
}

// loadCall makes the request of k and returns the subject the handler saw.
func loadCall(client testpb.GuardedServiceClient, k loadKind) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, v := range k.auth {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", v)
	}
	if !k.stream {
		resp, err := client.FieldTop(ctx, &testpb.FieldTopRequest{Username: k.username})
		return resp.GetReply().GetSubject(), err
	}
	stream, err := client.Chat(ctx)
	if err != nil {
		return "", err
	}
	var subject string
	for range 2 {
		if err := stream.Send(&testpb.ChatRequest{Sender: k.username, Text: "hi"}); err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		resp, err := stream.Recv()
		if err != nil {
			return "", err
		}
		subject = resp.GetReply().GetSubject()
	}
	if err := stream.CloseSend(); err != nil {
		return "", err
	}
	if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("stream end: %w", err)
	}
	return subject, nil
}

// reasonOfStatus returns the ErrorInfo reason of a status, "" without one.
func reasonOfStatus(st *status.Status) string {
	for _, d := range st.Details() {
		if info, ok := d.(interface{ GetReason() string }); ok {
			return info.GetReason()
		}
	}
	return ""
}

// checkNoGoroutineLeak waits up to five seconds for the number of
// goroutines to come back to before, and fails with their stacks if it
// does not.
func checkNoGoroutineLeak(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines after the load test, %d before:\n%s", n, before, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
