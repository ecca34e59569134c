package rpctest

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/manager"
)

// The issuers of the per-method issuers and audiences table.
const (
	Workforce = "https://workforce.test"
	Partner   = "https://partner.test"
)

// IssuersService is the service of IssuersFiles, whose methods take
// google.protobuf.Empty and answer it.
const IssuersService = "issuers.v1.IssuersService"

// IssuersRules are the rules of IssuersService's methods.
func IssuersRules() map[string]*annotations.Rule {
	return map[string]*annotations.Rule{
		"Admin":    {Issuers: []string{Workforce}},
		"Internal": {Audiences: []string{"search-internal", "search"}},
		"Both":     {Issuers: []string{Partner}, Audiences: []string{"orders"}},
		"Either": {AnyOf: []*annotations.Rule{
			{Issuers: []string{Workforce}},
			{Issuers: []string{Partner}, Scopes: []string{"orders:read"}},
		}},
	}
}

// IssuersFiles returns the descriptors of IssuersService with rules, its
// methods by name, for an adapter's WithResolver.
func IssuersFiles(tb testing.TB, rules map[string]*annotations.Rule) *protoregistry.Files {
	tb.Helper()
	sd := &descriptorpb.ServiceDescriptorProto{Name: proto.String("IssuersService")}
	for name, r := range rules {
		md := &descriptorpb.MethodDescriptorProto{
			Name: proto.String(name), InputType: proto.String(".google.protobuf.Empty"), OutputType: proto.String(".google.protobuf.Empty"),
			Options: &descriptorpb.MethodOptions{},
		}
		proto.SetExtension(md.Options, annotations.E_Rule, r)
		sd.Method = append(sd.Method, md)
	}
	fd := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("issuers/v1/issuers.proto"),
		Package:    proto.String("issuers.v1"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"google/protobuf/empty.proto", "protojwt/v1/annotations.proto"},
		Service:    []*descriptorpb.ServiceDescriptorProto{sd},
	}
	file, err := protodesc.NewFile(fd, protoregistry.GlobalFiles)
	if err != nil {
		tb.Fatalf("protodesc.NewFile: %v", err)
	}
	files := new(protoregistry.Files)
	if err := files.RegisterFile(emptypb.File_google_protobuf_empty_proto); err != nil {
		tb.Fatal(err)
	}
	if err := files.RegisterFile(file); err != nil {
		tb.Fatal(err)
	}
	return files
}

// IssuersCase is a call of a method of IssuersService: allowed when Reason
// is "", else denied with Reason, and Decision.Err holding Err.
type IssuersCase struct {
	Name, Method, Token, Reason, Err string
}

// IssuersVerifier returns the verifier of IssuersCases' tokens: Workforce
// and Partner, each of HS256 with Secret, behind one manager.Issuers.
func IssuersVerifier(tb testing.TB) manager.Verifier {
	tb.Helper()
	v, err := manager.NewIssuers(
		NewManagerWith(tb, manager.Config{Issuer: Workforce, Algorithm: "HS256", Secret: []byte(Secret)}),
		NewManagerWith(tb, manager.Config{Issuer: Partner, Algorithm: "HS256", Secret: []byte(Secret)}))
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// IssuersCases is the table of calls of IssuersService that every adapter
// decides alike: a token of another issuer, or for another audience, is
// refused with CLAIM_MISMATCH (NO_ALTERNATIVE in an any_of), and
// Decision.Err names the rule's list.
func IssuersCases(tb testing.TB) []IssuersCase {
	tb.Helper()
	tok := func(issuer string, scope any, aud ...string) string {
		m := NewManagerWith(tb, manager.Config{Issuer: issuer, Algorithm: "HS256", Secret: []byte(Secret), Audience: aud})
		return AuthToken(tb, m, "alice", scope, nil)
	}
	return []IssuersCase{
		{"admin/workforce", "Admin", tok(Workforce, nil), "", ""},
		{"admin/partner", "Admin", tok(Partner, nil), protojwt.ReasonClaimMismatch, `issuer: not one of ["https://workforce.test"]`},
		{"internal/aud", "Internal", tok(Workforce, nil, "search"), "", ""},
		{"internal/aud list", "Internal", tok(Partner, nil, "inventory", "search-internal"), "", ""},
		{"internal/other auds", "Internal", tok(Workforce, nil, "inventory", "billing"), protojwt.ReasonClaimMismatch, `audience: names none of ["search-internal","search"]`},
		{"internal/no aud", "Internal", tok(Workforce, nil), protojwt.ReasonClaimMismatch, `audience: names none of`},
		{"both/hold", "Both", tok(Partner, nil, "orders"), "", ""},
		{"both/issuer", "Both", tok(Workforce, nil, "orders"), protojwt.ReasonClaimMismatch, `issuer: not one of ["https://partner.test"]`},
		{"both/audience", "Both", tok(Partner, nil, "billing"), protojwt.ReasonClaimMismatch, `audience: names none of ["orders"]`},
		{"either/workforce", "Either", tok(Workforce, nil), "", ""},
		{"either/partner with scope", "Either", tok(Partner, "orders:read"), "", ""},
		{"either/partner without scope", "Either", tok(Partner, "orders:write"), protojwt.ReasonNoAlternative,
			`any_of[0]: claim mismatch: issuer: not one of ["https://workforce.test"]; any_of[1]: insufficient scope`},
	}
}

// RunIssuers calls each case through call, which sends the Authorization
// value to the method of IssuersService, and checks the answer and what
// the adapter told rec.
func RunIssuers(t *testing.T, call func(ctx context.Context, method, auth string) error, rec *Decisions, cases []IssuersCase) {
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			rec.Take()
			err := call(Context(t), tc.Method, Bearer(tc.Token))
			decided := rec.Take()
			if len(decided) == 0 {
				t.Fatalf("no decision reported")
			}
			d := decided[len(decided)-1]
			if tc.Reason == "" {
				if err != nil || !d.Allowed {
					t.Fatalf("call = %v, decision %+v; want allowed", err, d)
				}
				return
			}
			CheckDenial(t, err, codes.PermissionDenied, tc.Reason, tc.Token)
			if d.Allowed || d.Err == nil || !strings.Contains(d.Err.Error(), tc.Err) {
				t.Errorf("Decision.Err = %v, want it to say %s", d.Err, tc.Err)
			}
		})
	}
}
