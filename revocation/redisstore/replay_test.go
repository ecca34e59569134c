package redisstore

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/protojwt/protojwt/dpop"
)

// replayID returns an id of the size a dpop.Verifier uses, new each call.
func replayID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// testSeen checks the replay records of s on client: a new id is not
// seen and is then; it expires with its proof's window; concurrent
// callers of one id see exactly one first.
func testSeen(t *testing.T, client redis.UniversalClient, s *Store) {
	ctx := context.Background()
	t.Run("first and second", func(t *testing.T) {
		id := replayID(t)
		expires := time.Now().Add(time.Minute)
		for i, want := range []bool{false, true, true} {
			seen, err := s.Seen(ctx, id, expires)
			if err != nil || seen != want {
				t.Fatalf("Seen #%d = %v, %v; want %v", i+1, seen, err, want)
			}
		}
		if seen, err := s.Seen(ctx, replayID(t), expires); err != nil || seen {
			t.Fatalf("Seen of another id = %v, %v; want false", seen, err)
		}
	})
	t.Run("key and expiry", func(t *testing.T) {
		id := replayID(t)
		expires := time.Now().Add(400 * time.Millisecond)
		if _, err := s.Seen(ctx, id, expires); err != nil {
			t.Fatal(err)
		}
		ttl, err := client.PTTL(ctx, s.prefix+"dpop:"+id).Result()
		if err != nil || ttl <= 0 || ttl > 401*time.Millisecond {
			t.Fatalf("PTTL = %v, %v; want at most 400ms", ttl, err)
		}
		time.Sleep(time.Until(expires) + 100*time.Millisecond)
		if seen, err := s.Seen(ctx, id, time.Now().Add(time.Minute)); err != nil || seen {
			t.Fatalf("Seen after expiry = %v, %v; want false", seen, err)
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		id := replayID(t)
		expires := time.Now().Add(time.Minute)
		var first, errs atomic.Int32
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				seen, err := s.Seen(ctx, id, expires)
				switch {
				case err != nil:
					errs.Add(1)
				case !seen:
					first.Add(1)
				}
			})
		}
		wg.Wait()
		if first.Load() != 1 || errs.Load() != 0 {
			t.Fatalf("%d callers saw the id first and %d failed; want 1 and 0", first.Load(), errs.Load())
		}
	})
}

func TestSeen(t *testing.T) {
	client := redisClient(t)
	testSeen(t, client, newTestStore(t, client))
}

func TestSeenCluster(t *testing.T) {
	client := clusterClient(t)
	testSeen(t, client, newTestStore(t, client))
}

func TestSeenClusterReplicaAcks(t *testing.T) {
	client := clusterClient(t)
	testSeen(t, client, newTestStore(t, client, WithReplicaAcks(1, 2*time.Second)))
}

// TestReplayAcrossInstances: two servers whose verifiers share the Store
// accept a proof once between them.
func TestReplayAcrossInstances(t *testing.T) {
	client := redisClient(t)
	s := newTestStore(t, client)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, err := dpop.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	var instances [2]*dpop.Verifier
	for i := range instances {
		if instances[i], err = dpop.NewVerifier(dpop.WithReplayCache(s)); err != nil {
			t.Fatal(err)
		}
	}
	call := dpop.Call{Method: "POST", URL: "https://api.example.com/pkg.Svc/Get", AccessToken: "token"}
	proof, err := signer.Proof(call, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := instances[0].Verify(context.Background(), proof, call, signer.Thumbprint()); err != nil {
		t.Fatalf("first instance: %v", err)
	}
	if _, err := instances[1].Verify(context.Background(), proof, call, signer.Thumbprint()); !errors.Is(err, dpop.ErrProofInvalid) {
		t.Fatalf("replay on the second instance: %v, want ErrProofInvalid", err)
	}
}

// TestSeenServerDown: without a server, Seen fails, and the verifier
// refuses the proof rather than accept it unrecorded.
func TestSeenServerDown(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { client.Close() })
	s, err := newStore(client)
	if err != nil {
		t.Fatal(err)
	}
	if seen, err := s.Seen(context.Background(), replayID(t), time.Now().Add(time.Minute)); err == nil {
		t.Fatalf("Seen = %v without a server, want an error", seen)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, _ := dpop.NewSigner(key)
	v, err := dpop.NewVerifier(dpop.WithReplayCache(s))
	if err != nil {
		t.Fatal(err)
	}
	call := dpop.Call{Method: "POST", URL: "https://api.example.com/pkg.Svc/Get"}
	proof, _ := signer.Proof(call, "")
	if p, err := v.Verify(context.Background(), proof, call, ""); err == nil || p != nil {
		t.Fatalf("Verify without the replay store = %v, %v; want an error", p, err)
	}
}
