package interceptor_test

import (
	"testing"

	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/rpctest"
	"github.com/protojwt/protojwt/manager"
)

// TestStreamOutlivesToken is the attack of an open stream kept beyond its
// token's life (see rpctest.RunStreamOutlivesToken), over a real gRPC
// transport.
func TestStreamOutlivesToken(t *testing.T) {
	rpctest.RunStreamOutlivesToken(t, func(t *testing.T, m *manager.Manager, s rpctest.StreamSettings) rpctest.Client {
		var opts []interceptor.Option
		if s.Now != nil {
			opts = append(opts, interceptor.WithClock(s.Now))
		}
		if s.Recheck != nil {
			opts = append(opts, interceptor.WithStreamRecheck(*s.Recheck))
		}
		return rpctest.GRPC(startServer(t, m, opts...).conn)
	})
}
