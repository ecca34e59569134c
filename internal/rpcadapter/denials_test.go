package rpcadapter_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/internal/bearer"
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
	if want := len(denial.All()) + len(bearer.RequestErrors()); builds != want {
		t.Fatalf("Prebuild built %d denials, want one per reason and per malformed request (%d)", builds, want)
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
		// A credential malformed as a request is told what was wrong, from
		// a denial built once, with detailed errors or not.
		for _, re := range bearer.RequestErrors() {
			before := builds
			d := core.Denials.Deny("/pkg.S/M", fmt.Errorf("reading: %w", re))
			if d.code != denial.Unauthenticated || d.reason != protojwt.ReasonRequestMalformed || d.msg != re.Message {
				t.Errorf("Deny(%v) = %+v, want Unauthenticated REQUEST_MALFORMED %q", re, d, re.Message)
			}
			if builds != before {
				t.Errorf("Deny(%v) built a denial; the prebuilt one is enough", re)
			}
		}
	}
}
