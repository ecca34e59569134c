package redisstore

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/protojwt/protojwt/revocation"
)

// DefaultKeyPrefix is the prefix of every key a Store writes when
// WithKeyPrefix is not given.
const DefaultKeyPrefix = "protojwt:"

// Store is a revocation.Store on Redis. It is safe for concurrent use, as
// its client is.
type Store struct {
	client         redis.UniversalClient
	prefix         string
	allowEviction  bool
	replicas       int              // WithReplicaAcks; 0: writes don't wait
	replicaTimeout time.Duration    // WithReplicaAcks
	lastSlotReload atomic.Int64     // Unix nanoseconds; see reloadSlots
	cache          *notRevokedCache // WithLocalCache; nil: none
}

var _ revocation.Store = (*Store)(nil)

// An Option changes how New builds a Store.
type Option interface {
	apply(*Store)
}

// optionFunc adapts a function to Option.
type optionFunc func(*Store)

func (f optionFunc) apply(s *Store) { f(s) }

// WithKeyPrefix sets the prefix of every key the Store writes, so that
// several services or environments share one Redis without sharing
// revocations. By default, the prefix is DefaultKeyPrefix, "protojwt:".
func WithKeyPrefix(prefix string) Option {
	return optionFunc(func(s *Store) { s.prefix = prefix })
}

// WithEvictionPolicyAllowed makes New and Check accept a Redis whose
// maxmemory-policy may evict the Store's keys, for an operator who keeps
// memory below maxmemory by other means. An evicted record forgets a
// revocation: a logged-out token verifies again. By default, New refuses
// any policy but noeviction with an error wrapping ErrEvictionPolicy.
func WithEvictionPolicyAllowed() Option {
	return optionFunc(func(s *Store) { s.allowEviction = true })
}

// WithReplicaAcks makes every write (Revoke, RevokeSubject, Rotate) wait
// until at least replicas replicas of the master that holds the key have
// it (the WAIT command), for at most timeout, and fail when fewer did: a
// revocation reported done then survives the loss of that master, since
// Redis promotes a replica that has it. A write that fails this way may
// still be on the master; a Rotate that fails this way ends the login at
// its next refresh, failing closed. Each write costs one more round trip.
// New refuses replicas below 1, a
// timeout that is not positive, and a client without replicas (a Ring).
// By default, a write returns once the master has it, and a master that
// fails before its replicas copy the write loses it.
func WithReplicaAcks(replicas int, timeout time.Duration) Option {
	return optionFunc(func(s *Store) {
		s.replicas, s.replicaTimeout = replicas, timeout
		if replicas == 0 {
			s.replicas = -1 // refused by New, rather than read as "off"
		}
	})
}

// New returns a Store that keeps its records through client, once Check
// found every Redis node reachable and configured not to lose them (see
// Check); ctx bounds that check. It refuses a nil client and a bad option.
func New(ctx context.Context, client redis.UniversalClient, opts ...Option) (*Store, error) {
	s, err := newStore(client, opts...)
	if err != nil {
		return nil, err
	}
	if err := s.Check(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// newStore is New without the Check.
func newStore(client redis.UniversalClient, opts ...Option) (*Store, error) {
	if client == nil || reflect.ValueOf(client).IsNil() {
		return nil, errors.New("redisstore: New needs a client")
	}
	s := &Store{client: client, prefix: DefaultKeyPrefix}
	for _, opt := range opts {
		if opt != nil {
			opt.apply(s)
		}
	}
	if s.replicas != 0 {
		switch client.(type) {
		case *redis.Client, *redis.ClusterClient:
		default:
			return nil, fmt.Errorf("redisstore: WithReplicaAcks needs a single server, Sentinel or Cluster client, not a %T", client)
		}
		if s.replicas < 1 || s.replicaTimeout <= 0 {
			return nil, errors.New("redisstore: WithReplicaAcks needs at least one replica and a positive timeout")
		}
	}
	if s.cache != nil && s.cache.maxStale <= 0 {
		return nil, errors.New("redisstore: WithLocalCache needs a positive staleness bound")
	}
	return s, nil
}

// keepLater sets KEYS[1] to the larger of its integer value and ARGV[1],
// with the longer of its time to live and ARGV[2] milliseconds: a record
// only ever grows, whatever the order of concurrent writers.
var keepLater = redis.NewScript(`
local value = ARGV[1]
local current = redis.call('GET', KEYS[1])
if current and (tonumber(current) or 0) > tonumber(value) then
	value = current
end
local ttl = tonumber(ARGV[2])
local left = redis.call('PTTL', KEYS[1])
if left > ttl then
	ttl = left
end
redis.call('SET', KEYS[1], value, 'PX', ttl)
return 1
`)

// rotate moves the family KEYS[1] from the token ARGV[1] to ARGV[2] when
// it names ARGV[1] or does not exist, keeping the longer of its time to
// live and ARGV[3] milliseconds, and returns 1; otherwise it returns 0 and
// changes nothing. One script: no other client runs between the read and
// the write.
var rotate = redis.NewScript(`
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then
	return 0
end
local ttl = tonumber(ARGV[3])
local left = redis.call('PTTL', KEYS[1])
if left > ttl then
	ttl = left
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
return 1
`)

// Revoke implements revocation.Store.
func (s *Store) Revoke(ctx context.Context, subject, id string, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ttl, ok := timeToLive(until)
	if !ok {
		return nil
	}
	defer s.cache.forget() // after the write, failed or not: it may have landed
	if _, err := s.run(ctx, keepLater, s.revokedKey(subject, id), 1, ttl); err != nil {
		return fmt.Errorf("redisstore: revoke: %w", err)
	}
	return nil
}

// RevokeSubject implements revocation.Store.
func (s *Store) RevokeSubject(ctx context.Context, subject string, before, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ttl, ok := timeToLive(until)
	if !ok {
		return nil
	}
	defer s.cache.forget()
	if _, err := s.run(ctx, keepLater, s.beforeKey(subject), ceilMilli(before), ttl); err != nil {
		return fmt.Errorf("redisstore: revoke subject: %w", err)
	}
	return nil
}

// Revoked implements revocation.Store with one MGET of the subject's keys,
// or none when WithLocalCache remembers a recent answer.
func (s *Store) Revoked(ctx context.Context, subject string, ids []string, issuedAt time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if s.cache == nil {
		return s.revoked(ctx, subject, ids, issuedAt)
	}
	key := cacheKey{subject: subject, issuedAt: issuedAt.UnixNano()}
	if !key.setIDs(ids) {
		return s.revoked(ctx, subject, ids, issuedAt)
	}
	if s.cache.notRevoked(key) {
		return false, nil
	}
	asked, generation := s.cache.ask()
	revoked, err := s.revoked(ctx, subject, ids, issuedAt)
	if err == nil && !revoked {
		s.cache.put(key, asked, generation)
	}
	return revoked, err
}

// revoked asks Redis whether a token is revoked.
func (s *Store) revoked(ctx context.Context, subject string, ids []string, issuedAt time.Time) (bool, error) {
	keys := make([]string, 1, 1+len(ids))
	keys[0] = s.beforeKey(subject)
	for _, id := range ids {
		if id != "" {
			keys = append(keys, s.revokedKey(subject, id))
		}
	}
	values, err := s.client.MGet(ctx, keys...).Result()
	if err != nil {
		s.reloadSlots()
		return false, fmt.Errorf("redisstore: revoked: %w", err)
	}
	if len(values) != len(keys) {
		return false, fmt.Errorf("redisstore: revoked: MGET of %d keys returned %d values", len(keys), len(values))
	}
	if v, ok := values[0].(string); ok {
		before, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return false, fmt.Errorf("redisstore: revoked: value of %s is not an integer", keys[0])
		}
		if issuedAt.UnixMilli() < before {
			return true, nil
		}
	}
	for _, v := range values[1:] {
		if v != nil {
			return true, nil
		}
	}
	return false, nil
}

// Rotate implements revocation.Store with one script call on the family's
// key: a compare-and-set of its current token.
func (s *Store) Rotate(ctx context.Context, subject, family, id, next string, until time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if next == id {
		return false, errors.New("redisstore: rotate: next is the token rotated from")
	}
	ttl, ok := timeToLive(until)
	if !ok {
		return false, nil
	}
	moved, err := s.run(ctx, rotate, s.familyKey(subject, family), id, next, ttl)
	if err != nil {
		return false, fmt.Errorf("redisstore: rotate: %w", err)
	}
	return moved == 1, nil
}

// subjectTag returns the part of the keys that is the same for every key
// of subject: the prefix and the hash tag. The "s:" keeps the tag of the
// empty subject from being empty, which Redis would not take as a tag.
func (s *Store) subjectTag(subject string) string {
	return s.prefix + "{s:" + base64.RawURLEncoding.EncodeToString([]byte(subject)) + "}"
}

func (s *Store) revokedKey(subject, id string) string { return s.subjectTag(subject) + ":rev:" + id }
func (s *Store) beforeKey(subject string) string      { return s.subjectTag(subject) + ":before" }
func (s *Store) familyKey(subject, family string) string {
	return s.subjectTag(subject) + ":fam:" + family
}

// timeToLive returns the milliseconds from now until until, and false when
// less than one is left.
func timeToLive(until time.Time) (int64, bool) {
	ms := time.Until(until).Milliseconds()
	return ms, ms >= 1
}

// ceilMilli returns t in Unix milliseconds, rounded up: a token issued at
// a whole millisecond is before t exactly when it is before the result.
func ceilMilli(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.Nanosecond()%int(time.Millisecond) != 0 {
		ms++
	}
	return ms
}
