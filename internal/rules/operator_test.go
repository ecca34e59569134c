package rules

import (
	"os"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protojwt/protojwt/annotations"
)

// TestOperatorsComplete fails when a test of the ClaimCheck message's oneof
// lacks a definition, or a definition lacks a part: how a ClaimCheck reads
// it, how it compiles, checks and is written, and its row in
// docs/rules.md. It fails too on a definition of no field of the oneof.
func TestOperatorsComplete(t *testing.T) {
	oneof := (&annotations.ClaimCheck{}).ProtoReflect().Descriptor().Oneofs().ByName("test")
	if oneof == nil {
		t.Fatal("ClaimCheck has no oneof test")
	}
	doc, err := os.ReadFile("../../docs/rules.md")
	if err != nil {
		t.Fatal(err)
	}
	fields := oneof.Fields()
	if got, want := len(operators)-1, fields.Len(); got != want {
		t.Errorf("%d operators defined, the oneof has %d fields", got, want)
	}
	for i := range fields.Len() {
		name := string(fields.Get(i).Name())
		t.Run(name, func(t *testing.T) {
			op, ok := operatorNamed(name)
			if !ok {
				t.Fatalf("no operator defines %s", name)
			}
			o, _ := operatorOf(op)
			switch {
			case o.doc == "":
				t.Error("no doc")
			case o.fromProto == nil:
				t.Error("no fromProto")
			case o.compile == nil:
				t.Error("no compile")
			case o.test == nil:
				t.Error("no test")
			case o.text == nil:
				t.Error("no text")
			}
			if op.String() != name {
				t.Errorf("Op(%d).String() = %s", op, op)
			}
			if row := "| `" + name + "` | " + o.doc + " |"; !strings.Contains(string(doc), row) {
				t.Errorf("docs/rules.md has no row %s", row)
			}
			// The proto's field reads into this operator, and its text
			// begins with the operator's name (present: "present" or
			// "absent").
			c := &annotations.ClaimCheck{Claim: []string{"c"}}
			m := c.ProtoReflect()
			m.Set(fields.Get(i), m.NewField(fields.Get(i)))
			ch, _ := checkFromProto(c)
			if ch.Op != op {
				t.Errorf("checkFromProto of %s: Op %s", name, ch.Op)
			}
			if text := FormatCheck(c); !strings.HasPrefix(text, "c "+name) && !(op == OpPresent && text == "c absent") {
				t.Errorf("FormatCheck = %s", text)
			}
			if !strings.Contains(operatorNames(), name) {
				t.Errorf("operatorNames() = %s", operatorNames())
			}
		})
	}
	for op := range operators {
		if op == 0 {
			continue
		}
		if fields.ByName(protoreflect.Name(operators[op].name)) == nil {
			t.Errorf("operator %s is no field of the oneof", operators[op].name)
		}
	}
}
