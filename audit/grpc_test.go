package audit_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/audit"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/testpb"
)

type chatServer struct {
	testpb.UnimplementedGuardedServiceServer
}

func (chatServer) Chat(stream grpc.BidiStreamingServer[testpb.ChatRequest, testpb.ChatResponse]) error {
	for {
		if _, err := stream.Recv(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if err := stream.Send(&testpb.ChatResponse{}); err != nil {
			return err
		}
	}
}

// TestHookOverGRPC audits a stream over a real gRPC server: alice opens
// Chat and sends as herself, then as bob. The refused message is audited
// with its stage and who sent it.
func TestHookOverGRPC(t *testing.T) {
	m := newManager(t)
	var buf bytes.Buffer
	auth, err := interceptor.New(m, interceptor.WithDecisionHook(audit.Hook(slog.New(slog.NewJSONHandler(&buf, nil)))))
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(grpc.StreamInterceptor(auth.Stream()))
	testpb.RegisterGuardedServiceServer(s, chatServer{})
	lis := bufconn.Listen(1 << 20)
	go func() { _ = s.Serve(lis) }()
	defer s.Stop()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	alice := authToken(t, m, "alice", nil)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+alice.Signed)
	stream, err := testpb.NewGuardedServiceClient(conn).Chat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, sender := range []string{"alice", "bob"} {
		if err := stream.Send(&testpb.ChatRequest{Sender: sender}); err != nil {
			t.Fatal(err)
		}
		_, err = stream.Recv()
	}
	if reason, _ := protojwt.ReasonOf(err); reason != protojwt.ReasonClaimMismatch {
		t.Fatalf("second message: %v, want a CLAIM_MISMATCH denial", err)
	}

	got := records(t, &buf)
	if len(got) != 1 {
		t.Fatalf("%d records, want 1 (the refused message): %s", len(got), buf.String())
	}
	want := map[string]any{
		"msg":              audit.MessageDenied,
		audit.KeyProcedure: testpb.GuardedService_Chat_FullMethodName,
		audit.KeyStage:     "message",
		audit.KeyReason:    protojwt.ReasonClaimMismatch,
		audit.KeySubject:   "alice",
		audit.KeyTokenID:   alice.ID,
	}
	for k, v := range want {
		if got[0][k] != v {
			t.Errorf("%s = %v, want %v", k, got[0][k], v)
		}
	}
	if strings.Contains(buf.String(), alice.Signed[strings.LastIndexByte(alice.Signed, '.')+1:]) {
		t.Errorf("the record holds the token: %s", buf.String())
	}
}
