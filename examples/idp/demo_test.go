package main

import (
	"context"
	"strings"
	"testing"
)

// TestDemo runs the demo against a real OpenID Provider on loopback.
func TestDemo(t *testing.T) {
	var out strings.Builder
	if err := runDemo(context.Background(), &out); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	t.Log(out.String())
}
