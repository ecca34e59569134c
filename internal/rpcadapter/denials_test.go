package rpcadapter_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/internal/denial"
	"github.com/protojwt/protojwt/internal/rpcadapter"
	"github.com/protojwt/protojwt/manager"
)

// built is a denial as a test adapter builds it.
type built struct {
	code   denial.Code
	reason string
	msg    string
}

func TestDenials(t *testing.T) {
	var builds int
	build := func(code denial.Code, reason, msg string) *built {
		builds++
		return &built{code, reason, msg}
	}
	base := rpcadapter.Prebuild(build, func(b *built) error { return errors.New(b.msg) })
	if builds != len(denial.All()) {
		t.Fatalf("Prebuild built %d denials, want one per reason (%d)", builds, len(denial.All()))
	}
	m := newManager(t)
	for _, detailed := range []bool{false, true} {
		cfg := rpcadapter.Default("authorization")
		cfg.DetailedErrors = detailed
		core, err := rpcadapter.New(&cfg, m, names, base)
		if err != nil {
			t.Fatal(err)
		}
		cause := fmt.Errorf("role: %w", manager.ErrClaim)
		before := builds
		d := core.Denials.Deny("/pkg.S/M", cause)
		if d.code != denial.PermissionDenied || d.reason != protojwt.ReasonClaimMismatch {
			t.Errorf("Deny = %+v", d)
		}
		want := "claim mismatch"
		if detailed {
			want += ": " + cause.Error()
		}
		if d.msg != want {
			t.Errorf("detailed %v: message %q, want %q", detailed, d.msg, want)
		}
		if !detailed && builds != before {
			t.Errorf("Deny built a denial; the prebuilt one is enough")
		}
		if got := core.Denials.Err("/pkg.S/M", cause).Error(); got != want {
			t.Errorf("Err = %q, want %q", got, want)
		}
	}
}
