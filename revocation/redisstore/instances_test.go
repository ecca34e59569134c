package redisstore

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/manager"
)

// The test binary doubles as the service that TestInstances starts three
// times: with $PROTOJWT_TEST_INSTANCE set, it serves instead of testing.
const (
	instanceEnv       = "PROTOJWT_TEST_INSTANCE"        // the instance's name
	instancePrefixEnv = "PROTOJWT_TEST_INSTANCE_PREFIX" // the store's key prefix
)

func TestMain(m *testing.M) {
	if name := os.Getenv(instanceEnv); name != "" {
		if err := serveInstance(name); err != nil {
			fmt.Fprintf(os.Stderr, "instance %s: %v\n", name, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// tokenPair is what /login and /refresh answer.
type tokenPair struct {
	Auth    string `json:"auth"`
	Refresh string `json:"refresh"`
}

// serveInstance runs one instance of a small protojwt service on the
// cluster of $REDIS_CLUSTER_ADDRS: every instance has the same key and the
// same store, and nothing else in common. It prints its address on stdout
// and serves until stdin closes.
//
//	POST /login?sub=S        public: a new login of S
//	POST /refresh            refresh token: exchange it
//	GET  /me                 auth token: who am I
//	POST /logout             auth token: end its login
//	POST /revoke-subject     auth token: sign its subject out everywhere
func serveInstance(name string) error {
	ctx := context.Background()
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(os.Getenv("REDIS_CLUSTER_ADDRS"), ",")})
	defer client.Close()
	store, err := New(ctx, client, WithKeyPrefix(os.Getenv(instancePrefixEnv)))
	if err != nil {
		return err
	}
	m, err := manager.New(manager.Config{
		Issuer:    "https://instances.test",
		Algorithm: "HS256",
		Secret:    []byte("instances-test-secret-0123456789"),
	}, manager.WithRevocation(store))
	if err != nil {
		return err
	}

	reply := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Instance", name)
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	fail := func(w http.ResponseWriter, err error) {
		status := http.StatusInternalServerError
		switch {
		case errors.Is(err, manager.ErrRevocationUnavailable):
			status = http.StatusServiceUnavailable
		case errors.Is(err, manager.ErrRevoked):
			status = http.StatusUnauthorized
		}
		reply(w, status, map[string]string{"error": err.Error()})
	}
	caller := func(r *http.Request) *manager.Token {
		tok, _ := manager.FromContext(r.Context())
		return tok
	}
	guard := httpauth.New(m)
	mux := http.NewServeMux()
	guard.Handle(mux, "POST /login", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub := r.URL.Query().Get("sub")
		auth, err := m.AuthToken(sub, nil, nil)
		if err != nil {
			fail(w, err)
			return
		}
		refresh, err := m.RefreshToken(sub, nil)
		if err != nil {
			fail(w, err)
			return
		}
		reply(w, http.StatusOK, tokenPair{auth.Signed, refresh.Signed})
	}), httpauth.Public())
	guard.Handle(mux, "POST /refresh", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth, next, err := m.RotateRefreshToken(r.Context(), caller(r).Signed, nil)
		if err != nil {
			fail(w, err)
			return
		}
		reply(w, http.StatusOK, tokenPair{auth.Signed, next.Signed})
	}), httpauth.TokenType(manager.Refresh))
	guard.Handle(mux, "GET /me", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, map[string]string{"sub": caller(r).Subject})
	}))
	guard.Handle(mux, "POST /logout", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := m.Revoke(r.Context(), caller(r)); err != nil {
			fail(w, err)
			return
		}
		reply(w, http.StatusOK, map[string]string{})
	}))
	guard.Handle(mux, "POST /revoke-subject", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := m.RevokeSubject(r.Context(), caller(r).Subject); err != nil {
			fail(w, err)
			return
		}
		reply(w, http.StatusOK, map[string]string{})
	}))

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		io.Copy(io.Discard, os.Stdin) // until the test closes it, or dies
		server.Close()
	}()
	fmt.Println(listener.Addr().String())
	if err := server.Serve(listener); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// instances is the client side of TestInstances: the base URLs of the
// instances, which it spreads calls over.
type instances []string

// startInstances starts n instances of the service as processes sharing
// the cluster at addrs and the key prefix, and returns their URLs.
func startInstances(t *testing.T, n int, addrs, prefix string) instances {
	t.Helper()
	var urls instances
	for i := range n {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), instanceEnv+"="+fmt.Sprint(i), "REDIS_CLUSTER_ADDRS="+addrs, instancePrefixEnv+"="+prefix)
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			stdin.Close() // the instance's signal to stop
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("instance %d: %v", i, err)
				}
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Errorf("instance %d did not stop", i)
			}
		})
		addr, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil {
			t.Fatalf("instance %d did not start: %v", i, err)
		}
		urls = append(urls, "http://"+strings.TrimSpace(addr))
	}
	return urls
}

// call sends a request to instance i (modulo their number) with token as
// its bearer, decodes a JSON answer into out when not nil, and returns the
// status.
func (in instances) call(t *testing.T, i int, method, path, token string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, in[i%len(in)]+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("%s %s on instance %d: %v", method, path, i%len(in), err)
		return 0
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Errorf("%s %s on instance %d: %v", method, path, i%len(in), err)
		}
	}
	return resp.StatusCode
}

// login logs sub in through instance i.
func (in instances) login(t *testing.T, i int, sub string) tokenPair {
	t.Helper()
	var pair tokenPair
	if status := in.call(t, i, "POST", "/login?sub="+sub, "", &pair); status != http.StatusOK {
		t.Fatalf("login of %s through instance %d: status %d", sub, i%len(in), status)
	}
	return pair
}

// expectEverywhere checks that a call with token gets status from every
// instance.
func (in instances) expectEverywhere(t *testing.T, method, path, token string, status int, what string) {
	t.Helper()
	for i := range in {
		if got := in.call(t, i, method, path, token, nil); got != status {
			t.Errorf("%s: %s %s on instance %d: status %d, want %d", what, method, path, i, got, status)
		}
	}
}

// TestInstances runs three instances of a service as separate processes
// on the cluster of $REDIS_CLUSTER_ADDRS, and spreads a client's calls
// over them: what one instance revokes, all refuse at the next call.
func TestInstances(t *testing.T) {
	client := clusterClient(t)
	in := startInstances(t, 3, os.Getenv("REDIS_CLUSTER_ADDRS"), uniquePrefix(t, client))

	t.Run("logout through one is refused by all", func(t *testing.T) {
		alice := in.login(t, 0, "alice")
		in.expectEverywhere(t, "GET", "/me", alice.Auth, http.StatusOK, "before logout")
		if status := in.call(t, 1, "POST", "/logout", alice.Auth, nil); status != http.StatusOK {
			t.Fatalf("logout through instance 1: status %d", status)
		}
		in.expectEverywhere(t, "GET", "/me", alice.Auth, http.StatusUnauthorized, "after logout")
		// Another login of the same subject is untouched.
		other := in.login(t, 2, "alice")
		in.expectEverywhere(t, "GET", "/me", other.Auth, http.StatusOK, "another login")
	})

	t.Run("100 concurrent refreshes over three instances: one wins, the login ends", func(t *testing.T) {
		const exchanges = 100
		bob := in.login(t, 0, "bob")
		var rotated tokenPair // a rotated token carries the login's family
		if status := in.call(t, 1, "POST", "/refresh", bob.Refresh, &rotated); status != http.StatusOK {
			t.Fatalf("first refresh: status %d", status)
		}
		results := make([]struct {
			status int
			pair   tokenPair
		}, exchanges)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range exchanges {
			wg.Go(func() {
				<-start
				results[i].status = in.call(t, i, "POST", "/refresh", rotated.Refresh, &results[i].pair)
			})
		}
		close(start)
		wg.Wait()
		var winners []tokenPair
		statuses := map[int]int{}
		for _, r := range results {
			statuses[r.status]++
			if r.status == http.StatusOK {
				winners = append(winners, r.pair)
			}
		}
		if len(winners) != 1 || statuses[http.StatusUnauthorized] != exchanges-1 {
			t.Fatalf("statuses of %d concurrent refreshes: %v; want one 200 and the rest 401", exchanges, statuses)
		}
		// The reuse revoked the login: the winner's tokens included.
		in.expectEverywhere(t, "GET", "/me", winners[0].Auth, http.StatusUnauthorized, "winner's auth token")
		in.expectEverywhere(t, "GET", "/me", rotated.Auth, http.StatusUnauthorized, "login's earlier auth token")
		in.expectEverywhere(t, "POST", "/refresh", winners[0].Refresh, http.StatusUnauthorized, "winner's refresh token")
	})

	t.Run("RevokeSubject through one holds on all", func(t *testing.T) {
		first, second := in.login(t, 0, "carol"), in.login(t, 1, "carol")
		dave := in.login(t, 2, "dave")
		if status := in.call(t, 2, "POST", "/revoke-subject", first.Auth, nil); status != http.StatusOK {
			t.Fatalf("revoke-subject through instance 2: status %d", status)
		}
		for what, token := range map[string]string{"first login": first.Auth, "second login": second.Auth} {
			in.expectEverywhere(t, "GET", "/me", token, http.StatusUnauthorized, what)
		}
		in.expectEverywhere(t, "POST", "/refresh", second.Refresh, http.StatusUnauthorized, "refresh token of the second login")
		in.expectEverywhere(t, "GET", "/me", dave.Auth, http.StatusOK, "another subject")
	})
}
