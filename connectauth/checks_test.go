package connectauth_test

import (
	"testing"

	"github.com/protojwt/protojwt/internal/hostiletest"
	"github.com/protojwt/protojwt/internal/rpctest"
)

// TestHostileChecksUnary sends every case of the check table to Checks
// (whose rule is the table's, as the interceptor's tests check) under every
// protocol, with username and account_id set as the table says.
func TestHostileChecksUnary(t *testing.T) {
	underEveryProtocol(t, rpctest.RunHostileChecksUnary)
}

// TestHostileChecksStream sends every case of the check table as the one
// message of a ChecksChat under every protocol: token refusals end the
// stream as it opens, check refusals at the message.
func TestHostileChecksStream(t *testing.T) {
	underEveryProtocol(t, rpctest.RunHostileChecksChat)
}

// TestChecksOnEveryMessage checks under every protocol that a ChecksChat's
// checks bound to request fields decide each message: the owner's account,
// then a neighbour's or another username is refused at the second message.
func TestChecksOnEveryMessage(t *testing.T) {
	underEveryProtocol(t, rpctest.RunChecksOnEveryMessage)
}

// underEveryProtocol runs run against a server of a hostile test
// environment, once per protocol, and checks that no URL a token header
// names was fetched.
func underEveryProtocol(t *testing.T, run func(*testing.T, rpctest.Client, *hostiletest.Env)) {
	env := hostiletest.New(t)
	ts := startServer(t, env.Manager)
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) { run(t, p.client(ts), env) })
	}
	if hits := env.TrapHits(); hits != 0 {
		t.Errorf("a URL of a token header was fetched %d times", hits)
	}
}
