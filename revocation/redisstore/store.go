package redisstore

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"strconv"
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
	client redis.UniversalClient
	prefix string
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

// New returns a Store that keeps its records through client. It does not
// contact the server; the first operation does. New refuses a nil client.
func New(client redis.UniversalClient, opts ...Option) (*Store, error) {
	if client == nil || reflect.ValueOf(client).IsNil() {
		return nil, errors.New("redisstore: New needs a client")
	}
	s := &Store{client: client, prefix: DefaultKeyPrefix}
	for _, opt := range opts {
		if opt != nil {
			opt.apply(s)
		}
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

// Revoke implements revocation.Store.
func (s *Store) Revoke(ctx context.Context, subject, id string, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ttl, ok := timeToLive(until)
	if !ok {
		return nil
	}
	if err := keepLater.Run(ctx, s.client, []string{s.revokedKey(subject, id)}, 1, ttl).Err(); err != nil {
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
	if err := keepLater.Run(ctx, s.client, []string{s.beforeKey(subject)}, ceilMilli(before), ttl).Err(); err != nil {
		return fmt.Errorf("redisstore: revoke subject: %w", err)
	}
	return nil
}

// Revoked implements revocation.Store with one MGET of the subject's keys.
func (s *Store) Revoked(ctx context.Context, subject string, ids []string, issuedAt time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	keys := make([]string, 1, 1+len(ids))
	keys[0] = s.beforeKey(subject)
	for _, id := range ids {
		if id != "" {
			keys = append(keys, s.revokedKey(subject, id))
		}
	}
	values, err := s.client.MGet(ctx, keys...).Result()
	if err != nil {
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

// MarkUsed implements revocation.Store with SET NX.
func (s *Store) MarkUsed(ctx context.Context, subject, id string, until time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	ttl, ok := timeToLive(until)
	if !ok {
		return false, nil
	}
	first, err := s.client.SetNX(ctx, s.usedKey(subject, id), 1, time.Duration(ttl)*time.Millisecond).Result()
	if err != nil {
		return false, fmt.Errorf("redisstore: mark used: %w", err)
	}
	return first, nil
}

// subjectTag returns the part of the keys that is the same for every key
// of subject: the prefix and the hash tag. The "s:" keeps the tag of the
// empty subject from being empty, which Redis would not take as a tag.
func (s *Store) subjectTag(subject string) string {
	return s.prefix + "{s:" + base64.RawURLEncoding.EncodeToString([]byte(subject)) + "}"
}

func (s *Store) revokedKey(subject, id string) string { return s.subjectTag(subject) + ":rev:" + id }
func (s *Store) beforeKey(subject string) string      { return s.subjectTag(subject) + ":before" }
func (s *Store) usedKey(subject, id string) string    { return s.subjectTag(subject) + ":used:" + id }

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
