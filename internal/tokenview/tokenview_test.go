package tokenview

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/protojwt/protojwt/internal/jws"
)

// slot is how a token type embeds a Slot: under an unexported alias.
type slot = Slot

// token stands for manager.Token.
type token struct {
	Subject string
	slot
}

// TestOf checks that Of finds the View a token's Slot holds, and answers
// nil for a token whose Slot holds none, for values of other types and
// for nil.
func TestOf(t *testing.T) {
	view := &View{Type: "auth", Subject: "alice"}
	view.Claims.Init([]jws.Member{{Name: "sub", Value: "alice"}})
	filled := &token{Subject: "mallory"}
	Fill(&filled.slot, view)
	if v := Of(filled); v != view {
		t.Errorf("Of(filled token) = %+v, want its view", v)
	}
	for name, tok := range map[string]any{
		"empty token":      &token{Subject: "alice"},
		"token literal":    token{},
		"another type":     "anything",
		"another pointer":  new(int),
		"nil":              nil,
		"nil token":        (*token)(nil),
		"overwritten copy": func() any { c := &token{}; *c = token{Subject: "x"}; return c }(),
	} {
		if v := Of(tok); v != nil {
			t.Errorf("Of(%s) = %+v, want nil", name, v)
		}
	}
}

// members returns n members named c0, c1, ..., whose values are their
// indexes, with a null claim "none" last.
func members(n int) []jws.Member {
	ms := make([]jws.Member, 0, n+1)
	for i := range n {
		ms = append(ms, jws.Member{Name: fmt.Sprintf("c%d", i), Value: float64(i)})
	}
	return append(ms, jws.Member{Name: "none", Value: nil})
}

// TestClaimsLookup checks Lookup and Scan against the members, for claims
// held as members (read by comparing names, or through the map made of
// them) and as a map, with absent, null and empty names.
func TestClaimsLookup(t *testing.T) {
	for _, n := range []int{0, 1, ScanMembers - 1, ScanMembers, ScanMembers + 1, 100} {
		for _, form := range []string{"members", "map"} {
			t.Run(fmt.Sprint(n+1, " claims as ", form), func(t *testing.T) {
				c := claimsAs(form, members(n))
				checkLookups(t, c, n)
			})
		}
	}
	// Names of one key (length, first and last bytes), and the empty name.
	var same Claims
	same.Init([]jws.Member{{Name: "axb", Value: 1.0}, {Name: "ayb", Value: 2.0}, {Name: "", Value: 3.0}, {Name: "ab", Value: 4.0}})
	for name, want := range map[string]any{"axb": 1.0, "ayb": 2.0, "": 3.0, "ab": 4.0} {
		if v, ok := same.Lookup(name); !ok || v != want {
			t.Errorf("Lookup(%q) = %v, %v, want %v", name, v, ok, want)
		}
	}
	if v, ok := same.Lookup("azb"); ok {
		t.Errorf("Lookup(azb) = %v, true, want absent", v)
	}
	var zero Claims
	if v, ok := zero.Lookup("sub"); ok || v != nil || zero.Len() != 0 || len(zero.Map()) != 0 {
		t.Errorf("zero Claims: Lookup = %v, %v; Len %d; Map %v", v, ok, zero.Len(), zero.Map())
	}
}

// claimsAs returns Claims of ms as members or as a map.
func claimsAs(form string, ms []jws.Member) *Claims {
	c := new(Claims)
	if form == "members" {
		c.Init(ms)
		return c
	}
	m := make(map[string]any, len(ms))
	for _, e := range ms {
		m[e.Name] = e.Value
	}
	c.InitMap(m)
	return c
}

// checkLookups checks Len, Lookup and Scan of c, Claims of members(n).
func checkLookups(t *testing.T, c *Claims, n int) {
	t.Helper()
	if c.Len() != n+1 {
		t.Errorf("Len() = %d, want %d", c.Len(), n+1)
	}
	for _, lookup := range []func(string) (any, bool){c.Lookup, c.Scan} {
		for i := range n {
			if v, ok := lookup(fmt.Sprintf("c%d", i)); !ok || v != float64(i) {
				t.Errorf("lookup of c%d = %v, %v", i, v, ok)
			}
		}
		if v, ok := lookup("none"); !ok || v != nil {
			t.Errorf("lookup of none = %v, %v, want nil, true", v, ok)
		}
		for _, name := range []string{"absent", "", "c", fmt.Sprintf("c%d", n)} {
			if v, ok := lookup(name); ok {
				t.Errorf("lookup of %q = %v, true, want absent", name, v)
			}
		}
	}
}

// TestClaimsMap checks that Map holds every member, is made once and
// shared by concurrent callers, and that Init starts again.
func TestClaimsMap(t *testing.T) {
	var c Claims
	c.Init(members(20))
	want := map[string]any{"none": nil}
	for i := range 20 {
		want[fmt.Sprintf("c%d", i)] = float64(i)
	}
	var wg sync.WaitGroup
	got := make([]map[string]any, 8)
	for g := range got {
		wg.Go(func() {
			c.Lookup("c3")
			got[g] = c.Map()
		})
	}
	wg.Wait()
	for _, m := range got {
		if reflect.ValueOf(m).UnsafePointer() != reflect.ValueOf(got[0]).UnsafePointer() {
			t.Fatal("concurrent calls of Map returned different maps")
		}
	}
	if !reflect.DeepEqual(got[0], want) {
		t.Errorf("Map() = %v, want %v", got[0], want)
	}
	c.Init([]jws.Member{{Name: "sub", Value: "alice"}})
	if m := c.Map(); !reflect.DeepEqual(m, map[string]any{"sub": "alice"}) {
		t.Errorf("Map() after Init = %v", m)
	}
}

// BenchmarkClaimsLookup is a lookup of a token's last claim by comparing
// names (scan) and in the map (map), for member counts around
// ScanMembers:
//
//	go test -run '^$' -bench ClaimsLookup -count 6 ./internal/tokenview
func BenchmarkClaimsLookup(b *testing.B) {
	names := []string{"exp", "iat", "iss", "jti", "nbf", "scope", "sub", "type", "aud", "azp", "email", "name",
		"groups", "tenant", "roles", "sid", "acr", "amr", "auth_time", "client_id", "cnf", "locale", "realm", "typ"}
	for _, n := range []int{4, 8, 12, 16} {
		ms := make([]jws.Member, n)
		for i := range ms {
			ms[i] = jws.Member{Name: names[i], Value: "v"}
		}
		last := names[n-1]
		var c Claims
		c.Init(ms)
		m := c.Map()
		b.Run(fmt.Sprintf("members=%d/scan", n), func(b *testing.B) {
			for b.Loop() {
				c.Scan(last)
			}
		})
		b.Run(fmt.Sprintf("members=%d/map", n), func(b *testing.B) {
			for b.Loop() {
				_ = m[last]
			}
		})
	}
}

// FuzzClaimsLookup checks Lookup, Scan and Map against a map of the same
// members, held as members and as a map, for any names (NUL-separated in
// names, duplicates dropped) and any name looked up.
func FuzzClaimsLookup(f *testing.F) {
	f.Add("exp\x00iat\x00iss\x00sub", "sub")
	f.Add("axb\x00ayb\x00\x00ab", "azb")
	f.Add("a\x00b\x00c\x00d\x00e\x00f\x00g\x00h\x00i\x00j", "j")
	f.Fuzz(func(t *testing.T, names, query string) {
		want := map[string]any{}
		var ms []jws.Member
		for i, name := range strings.Split(names, "\x00") {
			if _, dup := want[name]; dup {
				continue
			}
			want[name] = float64(i)
			ms = append(ms, jws.Member{Name: name, Value: float64(i)})
		}
		for _, form := range []string{"members", "map"} {
			c := claimsAs(form, ms)
			for _, name := range append([]string{query}, strings.Split(names, "\x00")...) {
				w, wok := want[name]
				for _, lookup := range []func(string) (any, bool){c.Lookup, c.Scan} {
					if v, ok := lookup(name); ok != wok || v != w {
						t.Fatalf("%s: lookup of %q = %v, %v; want %v, %v", form, name, v, ok, w, wok)
					}
				}
			}
			if c.Len() != len(want) || !reflect.DeepEqual(c.Map(), want) {
				t.Fatalf("%s: Len %d, Map %v; want %v", form, c.Len(), c.Map(), want)
			}
		}
	})
}
