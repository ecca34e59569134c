package connectauth_test

import (
	"testing"

	"github.com/protojwt/protojwt/connectauth"
	"github.com/protojwt/protojwt/internal/rpctest"
	"github.com/protojwt/protojwt/manager"
)

// TestStreamOutlivesToken is the attack of an open stream kept beyond its
// token's life (see rpctest.RunStreamOutlivesToken), under every protocol.
func TestStreamOutlivesToken(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			rpctest.RunStreamOutlivesToken(t, func(t *testing.T, m *manager.Manager, s rpctest.StreamSettings) rpctest.Client {
				var opts []connectauth.Option
				if s.Now != nil {
					opts = append(opts, connectauth.WithClock(s.Now))
				}
				if s.Recheck != nil {
					opts = append(opts, connectauth.WithStreamRecheck(*s.Recheck))
				}
				return p.client(startServer(t, m, opts...))
			})
		})
	}
}
