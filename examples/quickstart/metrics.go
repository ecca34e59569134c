package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"text/tabwriter"

	"github.com/protojwt/protojwt"
)

// decisionCounts counts the decisions of both adapters with a plain
// decision hook: what -metrics prints. The quickstart lives in the core
// module, which does not link OpenTelemetry; a service that exports
// metrics gives the same WithDecisionHook options otelprotojwt's hook
// instead (see otelprotojwt's Example). The procedures counted are bounded:
// grpc-go refuses a call of an unregistered method before the interceptor
// runs, and every HTTP route has a ServeMux pattern.
type decisionCounts struct {
	mu sync.Mutex
	n  map[decisionKind]int
}

// decisionKind is what decisions are counted by: never who called.
type decisionKind struct {
	procedure string
	allowed   bool
	reason    string
}

func newDecisionCounts() *decisionCounts {
	return &decisionCounts{n: map[decisionKind]int{}}
}

// hook counts d; it is safe for concurrent use.
func (c *decisionCounts) hook(_ context.Context, d protojwt.Decision) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[decisionKind{procedure: d.Procedure, allowed: d.Allowed, reason: d.Reason}]++
}

// print writes the counts as a table, by procedure, outcome and reason.
func (c *decisionCounts) print(out io.Writer) {
	c.mu.Lock()
	kinds := make([]decisionKind, 0, len(c.n))
	for k := range c.n {
		kinds = append(kinds, k)
	}
	counts := make(map[decisionKind]int, len(c.n))
	for k, v := range c.n {
		counts[k] = v
	}
	c.mu.Unlock()
	slices.SortFunc(kinds, func(a, b decisionKind) int {
		return cmp.Or(cmp.Compare(a.procedure, b.procedure), -compareBool(a.allowed, b.allowed), cmp.Compare(a.reason, b.reason))
	})
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROCEDURE\tOUTCOME\tREASON\tDECISIONS")
	for _, k := range kinds {
		outcome := "denied"
		if k.allowed {
			outcome = "allowed"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", k.procedure, outcome, k.reason, counts[k])
	}
	tw.Flush()
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
