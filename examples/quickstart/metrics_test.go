package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/protojwt/protojwt"
)

func TestDecisionCounts(t *testing.T) {
	c := newDecisionCounts()
	ctx := context.Background()
	for _, d := range []protojwt.Decision{
		{Procedure: "GET /b", Allowed: true},
		{Procedure: "GET /b", Reason: protojwt.ReasonTokenMissing},
		{Procedure: "GET /b", Allowed: true},
		{Procedure: "/pkg.S/A", Reason: protojwt.ReasonTokenExpired},
		{Procedure: "/pkg.S/A", Reason: protojwt.ReasonClaimMismatch},
		{Procedure: "/pkg.S/A", Reason: protojwt.ReasonClaimMismatch},
	} {
		c.hook(ctx, d)
	}
	var out bytes.Buffer
	c.print(&out)
	want := `PROCEDURE  OUTCOME  REASON          DECISIONS
/pkg.S/A   denied   CLAIM_MISMATCH  2
/pkg.S/A   denied   TOKEN_EXPIRED   1
GET /b     allowed                  2
GET /b     denied   TOKEN_MISSING   1
`
	if out.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestDemoMetrics runs the demo with -metrics: both adapters' decisions are
// counted, by procedure and reason, never by caller.
func TestDemoMetrics(t *testing.T) {
	t.Setenv("JWT_SECRET", "")
	var out bytes.Buffer
	if err := runDemo(context.Background(), &out, newDecisionCounts()); err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	text := out.String()
	_, table, ok := strings.Cut(text, "decisions of the servers (-metrics):\n")
	if !ok {
		t.Fatalf("no decisions table:\n%s", text)
	}
	for _, row := range []string{
		`/quickstart\.v1\.QuickstartService/Protected +allowed +\d+`,
		`/quickstart\.v1\.QuickstartService/Protected +denied +TOKEN_MISSING +1\n`,
		`/quickstart\.v1\.QuickstartService/UserSpecific +denied +CLAIM_MISMATCH +1\n`,
		`GET /protected_route +denied +TOKEN_INVALID +1\n`,
		`GET /user_specific_route/\{username\} +denied +CLAIM_MISMATCH +1\n`,
		`GET /admin_dashboard +denied +SCOPE_MISSING +1\n`,
	} {
		if !regexp.MustCompile(row).MatchString(table) {
			t.Errorf("no row %s in:\n%s", row, table)
		}
	}
	if strings.Contains(table, "alice") || strings.Contains(table, "bob") {
		t.Errorf("the table names a caller:\n%s", table)
	}
}
