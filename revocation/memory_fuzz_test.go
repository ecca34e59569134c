package revocation

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// modelStore is the plain reading of the Store contract for a bounded
// store: a map, searched in full. FuzzMemoryStore checks MemoryStore
// against it.
type modelStore struct {
	max     int
	records map[recordKey]record
}

func (m *modelStore) dropExpired(now time.Time) {
	for k, r := range m.records {
		if !r.until.After(now) {
			delete(m.records, k)
		}
	}
}

func (m *modelStore) put(key recordKey, before, until, now time.Time) error {
	if !until.After(now) {
		return nil
	}
	m.dropExpired(now)
	if r, ok := m.records[key]; ok {
		if before.After(r.before) {
			r.before = before
		}
		if until.After(r.until) {
			r.until = until
		}
		m.records[key] = r
		return nil
	}
	if len(m.records) >= m.max {
		return ErrFull
	}
	m.records[key] = record{key: key, before: before, until: until}
	return nil
}

func (m *modelStore) rotate(subject, family, id, next string, until, now time.Time) (bool, error) {
	if next == id {
		return false, errSameToken
	}
	if !until.After(now) {
		return false, nil
	}
	m.dropExpired(now)
	key := recordKey{loginFamily, subject, family}
	r, ok := m.records[key]
	switch {
	case ok && r.current != id:
		return false, nil
	case ok:
		r.current = next
		if until.After(r.until) {
			r.until = until
		}
		m.records[key] = r
		return true, nil
	case len(m.records) >= m.max:
		return false, ErrFull
	}
	m.records[key] = record{key: key, current: next, until: until}
	return true, nil
}

func (m *modelStore) revoked(subject string, ids []string, issuedAt, now time.Time) bool {
	if r, ok := m.records[recordKey{revokedSubject, subject, ""}]; ok && r.until.After(now) && issuedAt.Before(r.before) {
		return true
	}
	for _, id := range ids {
		if r, ok := m.records[recordKey{revokedID, subject, id}]; ok && id != "" && r.until.After(now) {
			return true
		}
	}
	return false
}

// FuzzMemoryStore runs a program of operations, one per three bytes, on a
// MemoryStore and on modelStore, and fails when they disagree.
func FuzzMemoryStore(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 1, 2, 2, 1, 2, 2, 1, 2, 4, 9, 9, 3, 1, 2})
	f.Add([]byte{1, 0, 5, 3, 0, 0, 4, 3, 3, 2, 7, 7, 2, 7, 7, 0, 9, 1, 0, 8, 1})
	f.Fuzz(func(t *testing.T, program []byte) {
		const max = 6
		now := time.Unix(1_800_000_000, 0)
		s, err := NewMemoryStore(WithMaxEntries(max), WithClock(func() time.Time { return now }))
		if err != nil {
			t.Fatal(err)
		}
		model := &modelStore{max: max, records: map[recordKey]record{}}
		ctx := context.Background()
		for pc := 0; pc+2 < len(program); pc += 3 {
			op, a, b := program[pc]%5, program[pc+1], program[pc+2]
			subject, id := fmt.Sprint("s", a%3), fmt.Sprint("i", b%4)
			until := now.Add(time.Duration(b%8) * time.Second)
			at := now.Add(time.Duration(int(a%8)-4) * time.Second)
			var got, want bool
			var gotErr, wantErr error
			switch op {
			case 0:
				gotErr = s.Revoke(ctx, subject, id, until)
				wantErr = model.put(recordKey{revokedID, subject, id}, time.Time{}, until, now)
			case 1:
				gotErr = s.RevokeSubject(ctx, subject, at, until)
				wantErr = model.put(recordKey{revokedSubject, subject, ""}, at, until, now)
			case 2:
				// The family is id; the tokens it moves between, few
				// enough that rotations meet.
				from, next := fmt.Sprint("t", a/3%3), fmt.Sprint("t", b/8%3)
				got, gotErr = s.Rotate(ctx, subject, id, from, next, until)
				want, wantErr = model.rotate(subject, id, from, next, until, now)
			case 3:
				ids := []string{id, fmt.Sprint("i", a%4), ""}
				got, gotErr = s.Revoked(ctx, subject, ids, at)
				want = model.revoked(subject, ids, at, now)
			case 4:
				now = now.Add(time.Duration(a%4) * time.Second)
				continue
			}
			if got != want || !errors.Is(gotErr, wantErr) || (gotErr == nil) != (wantErr == nil) {
				t.Fatalf("step %d, op %d (%s, %s): got %v, %v; model %v, %v", pc/3, op, subject, id, got, gotErr, want, wantErr)
			}
			if len(s.records) != len(s.expiry) || s.Len() != len(s.records) {
				t.Fatalf("step %d: %d records, %d in the heap", pc/3, len(s.records), len(s.expiry))
			}
		}
	})
}
