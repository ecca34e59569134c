package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/protojwt/protojwt/manager"
)

// clusterScript is the script that starts a Redis Cluster, from this
// module's directory.
const clusterScript = "../../scripts/redis-cluster"

// startCluster starts a Redis Cluster of its own for t with
// scripts/redis-cluster, on free loopback ports, whose nodes replace a
// master silent for nodeTimeout; stops it when t ends, and returns the
// nodes' addresses. Without the script or redis-server the test is
// skipped, unless $CI is set.
func startCluster(t *testing.T, nodeTimeout time.Duration) []string {
	t.Helper()
	_, errScript := os.Stat(clusterScript)
	_, errServer := exec.LookPath("redis-server")
	if err := errors.Join(errScript, errServer); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("can't start a Redis Cluster: %v", err)
		}
		t.Skipf("can't start a Redis Cluster: %v", err)
	}
	dir := t.TempDir()
	base := freePorts(t)
	cmd := exec.Command(clusterScript, "start", dir, strconv.Itoa(base))
	cmd.Env = append(os.Environ(), fmt.Sprint("REDIS_CLUSTER_NODE_TIMEOUT=", nodeTimeout.Milliseconds()))
	cmd.Stderr = os.Stderr
	t.Cleanup(func() {
		if out, err := exec.Command(clusterScript, "stop", dir).CombinedOutput(); err != nil {
			t.Errorf("stopping the cluster: %v\n%s", err, out)
		}
	})
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s start: %v", clusterScript, err)
	}
	return strings.Split(strings.TrimSpace(string(out)), ",")
}

// freePorts returns a port p such that p..p+5 and their cluster bus ports
// p+10000..p+10005 are free on loopback.
func freePorts(t *testing.T) int {
	t.Helper()
	for range 50 {
		base := 20000 + rand.IntN(20000)
		var listeners []net.Listener
		free := true
		for i := range 6 {
			for _, port := range []int{base + i, base + i + 10000} {
				l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
				if err != nil {
					free = false
					break
				}
				listeners = append(listeners, l)
			}
		}
		for _, l := range listeners {
			l.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no free ports for a cluster")
	return 0
}

// TestClusterSettings checks, on the cluster of $REDIS_CLUSTER_ADDRS, the
// settings that keep revocations through a failover (see doc.go), which
// scripts/redis-cluster sets.
func TestClusterSettings(t *testing.T) {
	clusterClient(t)
	checkClusterSettings(t, strings.Split(os.Getenv("REDIS_CLUSTER_ADDRS"), ","))
}

func checkClusterSettings(t *testing.T, addrs []string) {
	t.Helper()
	ctx := context.Background()
	want := map[string]string{
		"maxmemory-policy":              "noeviction",
		"min-replicas-to-write":         "1",
		"appendonly":                    "yes",
		"cluster-require-full-coverage": "yes",
		"cluster-enabled":               "yes",
	}
	masters := 0
	for _, addr := range addrs {
		node := redis.NewClient(&redis.Options{Addr: addr})
		for name, value := range want {
			got, err := node.ConfigGet(ctx, name).Result()
			if err != nil || got[name] != value {
				t.Errorf("%s: CONFIG GET %s = %v, %v; want %s", addr, name, got, err, value)
			}
		}
		info, err := node.Info(ctx, "replication").Result()
		if err != nil {
			t.Errorf("%s: INFO replication: %v", addr, err)
		} else if fields := infoFields(info); fields["role"] == "master" {
			masters++
			if fields["connected_slaves"] != "1" {
				t.Errorf("master %s has %s connected replicas, want 1", addr, fields["connected_slaves"])
			}
		}
		node.Close()
	}
	if masters != 3 {
		t.Errorf("%d masters, want 3", masters)
	}
}

// TestClusterFailover kills a master while instances verify tokens: during
// the election, Verify refuses with ErrRevocationUnavailable and never
// accepts a revoked token; after it, every revocation made before holds.
func TestClusterFailover(t *testing.T) {
	// Quick to replace a master, slow enough not to take a node of a
	// loaded machine for a dead one.
	addrs := startCluster(t, 2*time.Second)
	checkClusterSettings(t, addrs)
	ctx := context.Background()
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { client.Close() })
	// The cluster is thrown away with its keys: no prefix to clean up.
	store, err := New(ctx, client, WithReplicaAcks(1, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	m, err := manager.New(manager.Config{
		Issuer:    "https://issuer.test",
		Algorithm: "HS256",
		Secret:    []byte("failover-test-secret-0123456789ab"),
	}, manager.WithRevocation(store))
	if err != nil {
		t.Fatal(err)
	}

	// Subjects spread over the three masters; the victim is the master of
	// the first one.
	victim, err := store.master(ctx, store.beforeKey("user-0"))
	if err != nil {
		t.Fatal(err)
	}
	victimAddr := victim.Options().Addr
	type user struct {
		onVictim             bool
		revoked, live        *manager.Token // logout, and a token nobody revoked
		signedOut            *manager.Token // issued before RevokeSubject
		firstRefresh, rotted *manager.Token // a login rotated twice
	}
	users := make([]*user, 30)
	for i := range users {
		subject := fmt.Sprint("user-", i)
		node, err := store.master(ctx, store.beforeKey(subject))
		if err != nil {
			t.Fatal(err)
		}
		u := &user{onVictim: node.Options().Addr == victimAddr}
		mustIssue := func(tok *manager.Token, err error) *manager.Token {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		u.revoked = mustIssue(m.AuthToken(subject, nil, nil))
		if err := m.Revoke(ctx, u.revoked); err != nil {
			t.Fatalf("Revoke() before the failover: %v", err)
		}
		u.firstRefresh = mustIssue(m.RefreshToken(subject, nil))
		_, second, err := m.RotateRefreshToken(ctx, u.firstRefresh.Signed, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, u.rotted, err = m.RotateRefreshToken(ctx, second.Signed, nil); err != nil {
			t.Fatal(err)
		}
		users[i] = u
	}
	// Sign out everywhere, for half of them; then tokens nobody revoked.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	for i, u := range users {
		subject := fmt.Sprint("user-", i)
		if i%2 == 0 {
			u.signedOut = u.rotted
			if err := m.RevokeSubject(ctx, subject); err != nil {
				t.Fatalf("RevokeSubject() before the failover: %v", err)
			}
		}
	}
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	for i, u := range users {
		if u.live, err = m.AuthToken(fmt.Sprint("user-", i), nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	onVictim := 0
	for _, u := range users {
		if u.onVictim {
			onVictim++
		}
	}
	if onVictim == 0 || onVictim == len(users) {
		t.Fatalf("%d of %d users on the victim master, want some", onVictim, len(users))
	}

	// Callers verify all along; the victim is killed.
	var acceptedRevoked, unavailable, otherErrors atomic.Int32
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := g; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				u := users[i%len(users)]
				callCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
				_, err := m.Verify(callCtx, u.revoked.Signed)
				cancel()
				switch {
				case err == nil:
					acceptedRevoked.Add(1)
				case errors.Is(err, manager.ErrRevocationUnavailable):
					unavailable.Add(1)
				case !errors.Is(err, manager.ErrRevoked):
					otherErrors.Add(1)
					t.Errorf("Verify() of a revoked token during the failover: error = %v", err)
				}
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	killNode(t, victim)
	killedAt := time.Now()

	// The victim's subjects are served again once a replica took over.
	var victimUser *user
	for _, u := range users {
		if u.onVictim {
			victimUser = u
			break
		}
	}
	recovered := false
	var lastErr error
	for time.Since(killedAt) < 30*time.Second {
		callCtx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := m.Verify(callCtx, victimUser.live.Signed)
		cancel()
		if err == nil {
			recovered = true
			break
		}
		if !errors.Is(err, manager.ErrRevocationUnavailable) {
			t.Errorf("Verify() of a live token during the failover: error = %v, want nil or ErrRevocationUnavailable", err)
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if !recovered {
		t.Fatalf("the cluster did not recover within 30s of the master's death: %v", lastErr)
	}
	t.Logf("failover: served again after %v; %d verifications refused as unavailable meanwhile",
		time.Since(killedAt).Round(10*time.Millisecond), unavailable.Load())
	if n := acceptedRevoked.Load(); n != 0 {
		t.Errorf("%d verifications accepted a revoked token during the failover", n)
	}
	if unavailable.Load() == 0 {
		t.Error("no verification failed during the election: the master's death went unseen")
	}

	// Every revocation made before the failover holds.
	for i, u := range users {
		where := map[bool]string{true: "on the failed master", false: "elsewhere"}[u.onVictim]
		if _, err := m.Verify(ctx, u.revoked.Signed); !errors.Is(err, manager.ErrRevoked) {
			t.Errorf("user-%d (%s): Verify() of a logged-out token after the failover: error = %v, want ErrRevoked", i, where, err)
		}
		if u.signedOut != nil {
			if _, err := m.Verify(ctx, u.signedOut.Signed); !errors.Is(err, manager.ErrRevoked) {
				t.Errorf("user-%d (%s): Verify() of a signed-out token after the failover: error = %v, want ErrRevoked", i, where, err)
			}
			continue
		}
		if _, err := m.Verify(ctx, u.live.Signed); err != nil {
			t.Errorf("user-%d (%s): Verify() of a live token after the failover: error = %v", i, where, err)
		}
		// The login's current refresh token is still the only one: an older
		// one is reuse (which revokes the login, on the new master).
		_, _, err := m.RotateRefreshToken(ctx, u.firstRefresh.Signed, nil)
		switch {
		case u.onVictim && errors.Is(err, manager.ErrRefreshReuse) && errors.Is(err, manager.ErrRevocationUnavailable):
			// Detected; revoking the login needs a write, which the new
			// master, without a replica yet, refuses (see below).
		case errors.Is(err, manager.ErrRefreshReuse) && !errors.Is(err, manager.ErrRevocationUnavailable):
		default:
			t.Errorf("user-%d (%s): RotateRefreshToken() of a replaced token after the failover: error = %v, want ErrRefreshReuse", i, where, err)
		}
	}

	// The promoted replica has no replica of its own: its writes fail,
	// loudly, rather than live on one node.
	orphan := fmt.Sprint("user-", 0)
	tok, err := m.AuthToken(orphan, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Revoke(ctx, tok); !errors.Is(err, manager.ErrRevocationUnavailable) {
		t.Errorf("Revoke() on a master without replica: error = %v, want ErrRevocationUnavailable", err)
	}
	if err := store.Check(ctx); !errors.Is(err, ErrTooFewReplicas) {
		t.Errorf("Check() with a master without replica: error = %v, want ErrTooFewReplicas", err)
	}
}

// killNode kills the redis-server process of node (SIGKILL: no goodbye to
// the cluster), a process that startCluster started.
func killNode(t *testing.T, node *redis.Client) {
	t.Helper()
	info, err := node.Info(context.Background(), "server").Result()
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(infoFields(info)["process_id"])
	if err != nil || pid <= 1 {
		t.Fatalf("process_id of %s: %q", node.Options().Addr, infoFields(info)["process_id"])
	}
	process, err := os.FindProcess(pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := process.Kill(); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed the master %s (pid %d)", node.Options().Addr, pid)
}
