package rules

import (
	"errors"
	"fmt"
	"testing"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/internal/bearer"
	"github.com/protojwt/protojwt/manager"
)

// listError is an error of a type that is not comparable, wrapping others:
// comparing it with a sentinel must not panic.
type listError []error

func (l listError) Error() string   { return "list" }
func (l listError) Unwrap() []error { return l }

// reasonByIs is reasonOf as a sentinel at a time with errors.Is: the
// definition the one walk must agree with.
func reasonByIs(err error) string {
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.reason
		}
	}
	return protojwt.ReasonTokenInvalid
}

// TestReasonOfIsErrorsIs checks reasonOf against reasonByIs on every pair
// of sentinels, in each order, wrapped, joined, nested, behind an Is
// method and inside an error that is not comparable.
func TestReasonOfIsErrorsIs(t *testing.T) {
	other := errors.New("other")
	sentinels := []error{other, bearer.RequestErrors()[0], manager.ErrMalformed}
	for _, r := range reasons {
		sentinels = append(sentinels, r.err)
	}
	shapes := []func(a, b error) error{
		func(a, b error) error { return a },
		func(a, b error) error { return fmt.Errorf("x: %w", a) },
		func(a, b error) error { return fmt.Errorf("%w: %w", a, b) },
		func(a, b error) error { return errors.Join(a, b) },
		func(a, b error) error { return fmt.Errorf("y: %w", errors.Join(other, fmt.Errorf("z: %w", a), b)) },
		func(a, b error) error { return listError{fmt.Errorf("w: %w", b), nil, a} },
		func(a, b error) error { return errors.Join(listError{a}, listError{b}) },
	}
	n := 0
	for _, a := range sentinels {
		for _, b := range sentinels {
			for _, shape := range shapes {
				err := shape(a, b)
				if got, want := reasonOf(err), reasonByIs(err); got != want {
					t.Errorf("reasonOf(%v) = %s, errors.Is finds %s", err, got, want)
				}
				n++
			}
		}
	}
	if got := reasonOf(nil); got != protojwt.ReasonTokenInvalid {
		t.Errorf("reasonOf(nil) = %s", got)
	}
	if n < 1000 {
		t.Fatalf("only %d cases", n)
	}
}

// BenchmarkReasonOf is the reason of a garbage token's error, found in one
// walk of its chain and with errors.Is per sentinel.
//
//	go test -run '^$' -bench ReasonOf -count 6 ./internal/rules
func BenchmarkReasonOf(b *testing.B) {
	tok, err := manager.New(manager.Config{Issuer: "https://jwt.test", Algorithm: "HS256", Secret: make([]byte, 32)})
	if err != nil {
		b.Fatal(err)
	}
	_, garbage := tok.Verify(b.Context(), "Zm9v.YmFy.YmF6")
	if garbage == nil {
		b.Fatal("garbage verified")
	}
	for _, c := range []struct {
		name string
		of   func(error) string
	}{{"walk", reasonOf}, {"errors.Is", reasonByIs}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if c.of(garbage) != protojwt.ReasonTokenInvalid {
					b.Fatal("not TOKEN_INVALID")
				}
			}
		})
	}
}
