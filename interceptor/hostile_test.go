package interceptor_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/hostiletest"
	"github.com/protojwt/protojwt/internal/rpctest"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/manager"
)

// TestHostileRuleIsFieldTop checks that the hostile table's rule is the
// one FieldTop declares, so that HTTP and gRPC decide the table by the
// same rule.
func TestHostileRuleIsFieldTop(t *testing.T) {
	sd := testpb.File_protojwt_test_v1_test_proto.Services().ByName("GuardedService")
	rule, ok, err := annotations.MethodRule(sd.Methods().ByName("FieldTop"))
	if err != nil || !ok {
		t.Fatalf("MethodRule(FieldTop) = %v, %v", ok, err)
	}
	if !proto.Equal(rule, hostiletest.Rule()) {
		t.Fatalf("FieldTop's rule is %v, the hostile table's %v", rule, hostiletest.Rule())
	}
	if md := sd.Methods().ByName("FieldTop"); md.Input().Fields().ByName(protoreflect.Name(hostiletest.Variable)) == nil {
		t.Fatalf("FieldTop's request has no field %s", hostiletest.Variable)
	}
}

// TestHostileUnary sends every case of the hostile table to FieldTop on a
// real server, with the username field set to the table's subject.
func TestHostileUnary(t *testing.T) {
	env := hostiletest.New(t)
	ts := startServer(t, env.Manager)
	rpctest.RunHostileUnary(t, rpctest.GRPC(ts.conn), env)
	if hits := env.TrapHits(); hits != 0 {
		t.Errorf("a URL of a token header was fetched %d times", hits)
	}
}

// TestHostileStream sends every case of the hostile table to Chat, whose
// rule binds the subject to each message's sender: token refusals end the
// stream as it opens, a claim mismatch at the first message.
func TestHostileStream(t *testing.T) {
	env := hostiletest.New(t)
	ts := startServer(t, env.Manager)
	rpctest.RunHostileChat(t, rpctest.GRPC(ts.conn), env)
	if hits := env.TrapHits(); hits != 0 {
		t.Errorf("a URL of a token header was fetched %d times", hits)
	}
}

// unaryDirect returns the unary interceptor of m and a call of FieldTop
// through it with incoming metadata md, reporting whether the handler ran
// and with which token.
func unaryDirect(tb testing.TB, m *manager.Manager) func(md metadata.MD) (*manager.Token, error) {
	tb.Helper()
	auth, err := interceptor.New(m)
	if err != nil {
		tb.Fatal(err)
	}
	unary := auth.Unary()
	info := &grpc.UnaryServerInfo{FullMethod: methodFieldTop}
	req := &testpb.FieldTopRequest{Username: "alice"}
	return func(md metadata.MD) (*manager.Token, error) {
		var seen *manager.Token
		handler := func(ctx context.Context, _ any) (any, error) {
			tok, ok := manager.FromContext(ctx)
			if !ok {
				return nil, status.Error(codes.Internal, "handler called without a token")
			}
			seen = tok
			return nil, nil
		}
		_, err := unary(metadata.NewIncomingContext(context.Background(), md), req, info, handler)
		return seen, err
	}
}

// fuzzNow is the clock of the fuzzers' managers: tokens of the committed
// corpus stay valid.
var fuzzNow = time.Unix(1_800_000_000, 0)

// FuzzMetadata calls the unary interceptor with arbitrary authorization
// metadata, zero to three values (as many headers), and another key with
// an arbitrary value: the handler runs only for "Bearer <token>" sent alone,
// with a token that verifies and names alice; everything else is refused
// with a fixed status that quotes nothing of the request.
func FuzzMetadata(f *testing.F) {
	m := newManager(f, manager.WithClock(func() time.Time { return fuzzNow }))
	valid := authToken(f, m, "alice", nil, nil)
	mallory := authToken(f, m, "mallory", nil, nil)
	for _, seed := range []struct {
		a, b, c string
		n       uint8
	}{
		{"Bearer " + valid, "", "", 1},
		{"bearer " + valid, "", "", 1},
		{"Bearer " + valid, "Bearer " + valid, "", 2},
		{"Bearer " + valid[:len(valid)/2], valid[len(valid)/2:], "", 2},
		{"Bearer  " + valid, "", "", 1},
		{"Bearer " + valid + " " + valid, "", "", 1},
		{"Bearer " + mallory, "", "", 1},
		{"Bearer " + valid + "=", "", "", 1},
		{"Basic YWxpY2U6c2VjcmV0", "", "", 1},
		{"", "", "", 0},
		{"", "", "", 1},
		{"Bearer " + valid, "Bearer " + mallory, "Bearer " + valid, 3},
	} {
		f.Add(seed.a, seed.b, seed.c, seed.n)
	}
	call := unaryDirect(f, m)
	f.Fuzz(func(t *testing.T, a, b, c string, n uint8) {
		values := []string{a, b, c}[:n%4]
		md := metadata.MD{}
		for _, v := range values {
			md.Append("authorization", v)
		}
		md.Append("Authorization-Other", a) // another key is never read
		tok, err := call(md)
		if err == nil {
			if tok == nil || tok.Subject != "alice" || len(values) != 1 || !strings.EqualFold(values[0], "Bearer "+tok.Signed) {
				t.Fatalf("allowed %q with token %+v", values, tok)
			}
			return
		}
		st, ok := status.FromError(err)
		if !ok {
			t.Fatalf("error %v is not a status", err)
		}
		if st.Code() != codes.Unauthenticated && st.Code() != codes.PermissionDenied {
			t.Fatalf("refused %q with %v", values, st)
		}
		for _, s := range hostiletest.TokensOf(values) {
			if strings.Contains(st.Message(), s) {
				t.Fatalf("status %q quotes the request", st.Message())
			}
		}
	})
}

// TestRefuseOversizedCost checks that refusing an oversized token costs the
// same few allocations and bytes at every size: the token is refused by its
// length, before any base64 or JSON work.
func TestRefuseOversizedCost(t *testing.T) {
	call := unaryDirect(t, newManager(t))
	for _, sz := range hostiletest.OversizedSizes() {
		t.Run(sz.Name, func(t *testing.T) {
			md := metadata.Pairs("authorization", bearer(hostiletest.OversizedToken(sz.Bytes)))
			refuse := func() {
				if _, err := call(md); status.Code(err) != codes.Unauthenticated {
					t.Fatalf("oversized token: %v, want Unauthenticated", err)
				}
			}
			checkDenial(t, func() error { _, err := call(md); return err }(), codes.Unauthenticated, protojwt.ReasonTokenInvalid)
			if raceEnabled {
				t.Skip("the race detector changes allocation counts")
			}
			if allocs := testing.AllocsPerRun(100, refuse); allocs > 8 {
				t.Errorf("refusing a token of %s allocates %v times, want at most 8", sz.Name, allocs)
			}
			if perCall := hostiletest.BytesPerCall(100, refuse); perCall > 2048 {
				t.Errorf("refusing a token of %s allocates %d bytes, want at most 2 KiB", sz.Name, perCall)
			}
		})
	}
}

// BenchmarkRefuseOversized is a flood of large forged tokens through the
// unary interceptor: the cost of a refusal does not grow with the token.
func BenchmarkRefuseOversized(b *testing.B) {
	call := unaryDirect(b, newManager(b))
	for _, sz := range hostiletest.OversizedSizes() {
		b.Run(sz.Name, func(b *testing.B) {
			md := metadata.Pairs("authorization", bearer(hostiletest.OversizedToken(sz.Bytes)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := call(md); err == nil {
					b.Fatal("oversized token allowed")
				}
			}
		})
	}
}
