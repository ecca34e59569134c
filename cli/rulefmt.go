package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/internal/rules"
)

// formatRule writes a rule on one line, as the engine writes it
// ([rules.Format]): each claim-check operator is written by its one
// definition.
func formatRule(r *annotations.Rule) string { return rules.Format(r) }

// formatCheck writes a claim check as "path test value" ([rules.FormatCheck]).
func formatCheck(c *annotations.ClaimCheck) string { return rules.FormatCheck(c) }

// compactJSON writes v as JSON without HTML escaping; object keys sorted.
func compactJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprintf("%v", v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// ruleJSON writes r as protojson with the .proto field names, compacted:
// protojson's own spacing is not stable.
func ruleJSON(r *annotations.Rule) json.RawMessage {
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(r)
	if err != nil {
		return nil
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return nil
	}
	return out.Bytes()
}
