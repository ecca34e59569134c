package interceptor_test

import (
	"context"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/hostiletest"
	"github.com/protojwt/protojwt/internal/rpctest"
	"github.com/protojwt/protojwt/internal/testpb"
)

// The handlers of the methods with claim checks.

func (*guarded) Checks(ctx context.Context, _ *testpb.ChecksRequest) (*testpb.ChecksResponse, error) {
	return &testpb.ChecksResponse{Reply: reply(ctx)}, nil
}

func (g *guarded) ChecksChat(stream grpc.BidiStreamingServer[testpb.ChecksChatRequest, testpb.ChecksChatResponse]) error {
	g.streams.Add(1)
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&testpb.ChecksChatResponse{Reply: reply(stream.Context()), Text: req.GetText()}); err != nil {
			return err
		}
	}
}

func (*guarded) AccountInt(ctx context.Context, _ *testpb.AccountIntRequest) (*testpb.AccountIntResponse, error) {
	return &testpb.AccountIntResponse{Reply: reply(ctx)}, nil
}

func (*guarded) AccountUint(ctx context.Context, _ *testpb.AccountUintRequest) (*testpb.AccountUintResponse, error) {
	return &testpb.AccountUintResponse{Reply: reply(ctx)}, nil
}

func (g *guarded) OptionalWatch(_ *testpb.OptionalWatchRequest, stream grpc.ServerStreamingServer[testpb.OptionalWatchResponse]) error {
	g.streams.Add(1)
	return stream.Send(&testpb.OptionalWatchResponse{Reply: reply(stream.Context())})
}

// TestHostileChecksRule checks that Checks and ChecksChat declare the
// hostile check table's rule, so that gRPC and HTTP decide it alike.
func TestHostileChecksRule(t *testing.T) {
	sd := testpb.File_protojwt_test_v1_test_proto.Services().ByName("GuardedService")
	for _, name := range []string{"Checks", "ChecksChat"} {
		md := sd.Methods().ByName(protoreflect.Name(name))
		rule, ok, err := annotations.MethodRule(md)
		if err != nil || !ok {
			t.Fatalf("MethodRule(%s) = %v, %v", name, ok, err)
		}
		if !proto.Equal(rule, hostiletest.CheckRule()) {
			t.Errorf("%s's rule is %v, the check table's %v", name, rule, hostiletest.CheckRule())
		}
		for _, f := range []string{hostiletest.Variable, hostiletest.AccountVariable} {
			if md.Input().Fields().ByName(protoreflect.Name(f)) == nil {
				t.Errorf("%s's request has no field %s", name, f)
			}
		}
	}
}

// TestHostileChecksUnary sends every case of the check table to Checks on
// a real server, with username and account_id set as the table says.
func TestHostileChecksUnary(t *testing.T) {
	env := hostiletest.New(t)
	ts := startServer(t, env.Manager)
	rpctest.RunHostileChecksUnary(t, rpctest.GRPC(ts.conn), env)
}

// TestHostileChecksStream sends every case of the check table as the first
// message of a ChecksChat: token refusals end the stream as it opens,
// check refusals at the message.
func TestHostileChecksStream(t *testing.T) {
	env := hostiletest.New(t)
	ts := startServer(t, env.Manager)
	rpctest.RunHostileChecksChat(t, rpctest.GRPC(ts.conn), env)
}

// TestChecksOnEveryMessage checks that a stream's checks bound to request
// fields decide each message: the owner's account, then a neighbour's.
func TestChecksOnEveryMessage(t *testing.T) {
	env := hostiletest.New(t)
	ts := startServer(t, env.Manager)
	rpctest.RunChecksOnEveryMessage(t, rpctest.GRPC(ts.conn), env)
}

// TestBigIntegerFields checks int64 and uint64 request fields against
// integer claims beyond 2^53 over a real server: the owner's id is
// allowed, every neighbour refused, the float64 rounding included.
func TestBigIntegerFields(t *testing.T) {
	m := newManager(t)
	ts := startServer(t, m)
	client := testpb.NewGuardedServiceClient(ts.conn)
	const id = hostiletest.Account
	owner := bearer(authToken(t, m, "alice", nil, map[string]any{
		"acct":     map[string]any{"id": int64(id)},
		"accounts": []any{uint64(math.MaxUint64), int64(id)},
	}))
	asText := bearer(authToken(t, m, "alice", nil, map[string]any{"acct": map[string]any{"id": "1234567890123456789"}}))
	asFloat := bearer(authToken(t, m, "alice", nil, map[string]any{"acct": map[string]any{"id": float64(id)}}))

	t.Run("int64", func(t *testing.T) {
		resp, err := client.AccountInt(withToken(t, owner), &testpb.AccountIntRequest{AccountId: id})
		checkReply(t, resp.GetReply(), err, "alice")
		for _, d := range []int64{-1000, -21, -1, 1, 1000} {
			_, err := client.AccountInt(withToken(t, owner), &testpb.AccountIntRequest{AccountId: id + d})
			checkDenial(t, err, codes.PermissionDenied, protojwt.ReasonClaimMismatch)
		}
		_, err = client.AccountInt(withToken(t, owner), &testpb.AccountIntRequest{})
		checkDenial(t, err, codes.PermissionDenied, protojwt.ReasonClaimMismatch)
		_, err = client.AccountInt(withToken(t, asText), &testpb.AccountIntRequest{AccountId: id})
		checkDenial(t, err, codes.PermissionDenied, protojwt.ReasonClaimMismatch)
		// A claim minted from float64(id) is another integer (encoding/json
		// writes 1234567890123456800): neither id nor its float64 rounding
		// equals it.
		for _, other := range []int64{id, id - 21} {
			_, err = client.AccountInt(withToken(t, asFloat), &testpb.AccountIntRequest{AccountId: other})
			checkDenial(t, err, codes.PermissionDenied, protojwt.ReasonClaimMismatch)
		}
		resp, err = client.AccountInt(withToken(t, asFloat), &testpb.AccountIntRequest{AccountId: 1234567890123456800})
		checkReply(t, resp.GetReply(), err, "alice")
	})
	t.Run("uint64", func(t *testing.T) {
		const uid = uint64(id)
		for _, want := range []uint64{uid, math.MaxUint64} {
			resp, err := client.AccountUint(withToken(t, owner), &testpb.AccountUintRequest{AccountId: want})
			checkReply(t, resp.GetReply(), err, "alice")
		}
		for _, other := range []uint64{uid - 1, uid + 1, uid + 1000, math.MaxUint64 - 1, 1 << 63} {
			_, err := client.AccountUint(withToken(t, owner), &testpb.AccountUintRequest{AccountId: other})
			checkDenial(t, err, codes.PermissionDenied, protojwt.ReasonClaimMismatch)
		}
	})
}

// TestAllowMissingStream checks a server stream whose rule allows a
// missing token: with none the handler runs without a token; a token sent
// must verify and hold the checks.
func TestAllowMissingStream(t *testing.T) {
	m := newManager(t)
	ts := startServer(t, m)
	client := testpb.NewGuardedServiceClient(ts.conn)
	gold := authToken(t, m, "alice", nil, map[string]any{"tier": "gold"})
	silver := authToken(t, m, "alice", nil, map[string]any{"tier": "silver"})
	expired := authToken(t, newManager(t, clockAt(-2*time.Hour)), "alice", nil, map[string]any{"tier": "gold"})
	watch := func(auth ...string) (*testpb.Reply, error) {
		stream, err := client.OptionalWatch(withToken(t, auth...), &testpb.OptionalWatchRequest{})
		if err != nil {
			return nil, err
		}
		r, err := stream.Recv()
		if err != nil {
			return nil, err
		}
		if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
			return nil, err
		}
		return r.GetReply(), nil
	}
	before := ts.guarded.streams.Load()
	r, err := watch()
	checkReply(t, r, err, "")
	r, err = watch(bearer(gold))
	checkReply(t, r, err, "alice")
	_, err = watch(bearer(silver))
	checkDenial(t, err, codes.PermissionDenied, protojwt.ReasonClaimMismatch, silver)
	_, err = watch(bearer(gold[:len(gold)-3] + "AAA"))
	checkDenial(t, err, codes.Unauthenticated, protojwt.ReasonTokenInvalid)
	_, err = watch(bearer(expired))
	checkDenial(t, err, codes.Unauthenticated, protojwt.ReasonTokenExpired, expired)
	_, err = watch("Bearer")
	checkDenial(t, err, codes.Unauthenticated, protojwt.ReasonRequestMalformed)
	_, err = watch(bearer(refreshToken(t, m, "alice", map[string]any{"tier": "gold"})))
	checkDenial(t, err, codes.Unauthenticated, protojwt.ReasonTokenType)
	if n := ts.guarded.streams.Load() - before; n != 2 {
		t.Errorf("the handler ran %d times, want 2 (no token, gold)", n)
	}
}

// TestAllowMissingUnary checks the same of a unary call: Checks, whose
// rule allows a missing token.
func TestAllowMissingUnary(t *testing.T) {
	m := newManager(t)
	ts := startServer(t, m)
	client := testpb.NewGuardedServiceClient(ts.conn)
	req := &testpb.ChecksRequest{Username: "alice", AccountId: 7}
	resp, err := client.Checks(withToken(t), req)
	checkReply(t, resp.GetReply(), err, "")
	resp, err = client.Checks(withToken(t, ""), req)
	checkReply(t, resp.GetReply(), err, "")
	plain := authToken(t, m, "alice", nil, nil)
	_, err = client.Checks(withToken(t, bearer(plain)), req)
	checkDenial(t, err, codes.PermissionDenied, protojwt.ReasonClaimMismatch, plain)
	_, err = client.Checks(withToken(t, "Basic YWxpY2U6c2VjcmV0"), req)
	checkDenial(t, err, codes.Unauthenticated, protojwt.ReasonRequestMalformed)
	_, err = client.Checks(withToken(t, bearer(plain), bearer(plain)), req)
	checkDenial(t, err, codes.Unauthenticated, protojwt.ReasonRequestMalformed, plain)
}

// TestCheckFieldErrors checks that New refuses a check whose request field
// can't be compared, naming the method, the field and the reason: the
// fields of checks are request variables, compiled as those of claims.
func TestCheckFieldErrors(t *testing.T) {
	m := newManager(t)
	equalsField := func(field string) *annotations.Rule {
		return &annotations.Rule{Check: []*annotations.ClaimCheck{{
			Claim: []string{"org", "id"},
			Test:  &annotations.ClaimCheck_Equals{Equals: &annotations.Match{Kind: &annotations.Match_Field{Field: field}}},
		}}}
	}
	containsField := func(field string) *annotations.Rule {
		return &annotations.Rule{Check: []*annotations.ClaimCheck{{
			Claim: []string{"groups"},
			Test:  &annotations.ClaimCheck_Contains{Contains: &annotations.Match{Kind: &annotations.Match_Field{Field: field}}},
		}}}
	}
	tests := []struct {
		name  string
		rule  *annotations.Rule
		field string
		want  string
	}{
		{"equals a message", equalsField("inner"), "inner", "is a message"},
		{"equals a repeated field", equalsField("tags"), "tags", "repeated"},
		{"equals a map", equalsField("labels"), "labels", "map"},
		{"equals bytes", equalsField("inner.blob"), "inner.blob", "has no field"},
		{"equals bytes field", equalsField("blob"), "blob", "bytes"},
		{"equals no such field", equalsField("nope"), "nope", "has no field"},
		{"contains a message", containsField("inner"), "inner", "is a message"},
		{"contains a repeated field", containsField("tags"), "tags", "repeated"},
		{"contains through a string", containsField("name.x"), "name.x", "not a message"},
		{"contains through a repeated message", containsField("inners.id"), "inners.id", "repeated"},
		{"in an alternative", &annotations.Rule{AnyOf: []*annotations.Rule{{Scopes: []string{"x"}}, containsField("labels.key")}}, "labels.key", "map"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := badFiles(t, asUnknown, nil, map[string]*annotations.Rule{"Good": containsField("inner.id"), "Bad": tt.rule})
			_, err := interceptor.New(m, interceptor.WithResolver(files))
			var re *protojwt.RuleError
			if !errors.As(err, &re) || !errors.Is(err, protojwt.ErrInvalidRule) {
				t.Fatalf("New error = %v, want a RuleError", err)
			}
			if re.Procedure != "/bad.v1.BadService/Bad" || re.Field != tt.field {
				t.Errorf("RuleError{Procedure %q, Field %q}, want {/bad.v1.BadService/Bad, %q}", re.Procedure, re.Field, tt.field)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %s", err, tt.want)
			}
		})
	}

	// The same checks' test errors, named by method.
	for name, rule := range map[string]*annotations.Rule{
		"empty path":       {Check: []*annotations.ClaimCheck{{Test: &annotations.ClaimCheck_Present{Present: true}}}},
		"no value":         {Check: []*annotations.ClaimCheck{{Claim: []string{"sub"}, Test: &annotations.ClaimCheck_Equals{}}}},
		"at least one":     {Check: []*annotations.ClaimCheck{{Claim: []string{"tier"}, Test: &annotations.ClaimCheck_In{}}}},
		"empty suffix":     {Check: []*annotations.ClaimCheck{{Claim: []string{"email"}, Test: &annotations.ClaimCheck_Suffix{}}}},
		"public":           {Public: true, AllowMissing: true},
		"no test":          {Check: []*annotations.ClaimCheck{{Claim: []string{"sub"}}}},
		"any_of[0]":        {AnyOf: []*annotations.Rule{{AllowMissing: true, Scopes: []string{"x"}}}},
		"empty field name": equalsField(""),
		"empty name":       {Check: []*annotations.ClaimCheck{{Claim: []string{"org", ""}, Test: &annotations.ClaimCheck_Present{}}}},
		"to match":         {Check: []*annotations.ClaimCheck{{Claim: []string{"x"}, Test: &annotations.ClaimCheck_Includes{}}}},
		"an empty prefix":  {Check: []*annotations.ClaimCheck{{Claim: []string{"x"}, Test: &annotations.ClaimCheck_Prefix{}}}},
		`claim ["a" "b"]`:  {Check: []*annotations.ClaimCheck{{Claim: []string{"a", "b"}, Test: &annotations.ClaimCheck_Prefix{}}}},
	} {
		files := badFiles(t, asExtension, nil, map[string]*annotations.Rule{"Good": containsField("inner.id"), "Bad": rule})
		_, err := interceptor.New(m, interceptor.WithResolver(files))
		var re *protojwt.RuleError
		if !errors.As(err, &re) || re.Procedure != "/bad.v1.BadService/Bad" {
			t.Errorf("%s: New error = %v, want a RuleError of Bad", name, err)
			continue
		}
		if want := strings.TrimSuffix(name, " null"); !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %q does not say it", name, err)
		}
	}
}
