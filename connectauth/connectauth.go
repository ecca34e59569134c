package connectauth

import (
	"net/http"
	"strings"

	"connectrpc.com/connect"

	"github.com/protojwt/protojwt/internal/rpcadapter"
	"github.com/protojwt/protojwt/manager"
)

// Interceptor enforces the protojwt rules of a set of proto services served
// by connect-go handlers, under each protocol connect serves: Connect, gRPC
// and gRPC-Web. Give it to the handlers with [connect.WithInterceptors]. It
// implements [connect.Interceptor], is immutable and safe for concurrent use.
type Interceptor struct {
	header string // canonical name of the header of the bearer token
	core   rpcadapter.Core[*answer]
}

var _ connect.Interceptor = (*Interceptor)(nil)

// New reads the rule of every method of every service in the resolver
// ([protoregistry.GlobalFiles] unless [WithResolver] says otherwise), and
// compiles it: a method's (protojwt.v1.rule), or else its service's
// (protojwt.v1.default_rule), with the request fields it names. Every rule
// that can't be compiled is reported, in one error that joins a
// *[protojwt.RuleError] (wrapping [protojwt.ErrInvalidRule]) per method or
// service, naming it and the field path at fault; a bad option is an error
// wrapping [protojwt.ErrInvalidOption]. v verifies the tokens: a
// *[manager.Manager], a *[manager.Issuers], or any [manager.Verifier].
//
//	auth, err := connectauth.New(m)
//	if err != nil {
//		log.Fatal(err)
//	}
//	mux.Handle(quickstartpbconnect.NewQuickstartServiceHandler(srv,
//		connect.WithInterceptors(auth)))
//
// A procedure is found by the name connect gives it,
// "/package.Service/Method": handlers of services the resolver does not
// describe are denied as not declared unless an option opens them.
func New(v manager.Verifier, opts ...Option) (*Interceptor, error) {
	cfg := rpcadapter.Default(defaultHeader)
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&cfg)
		}
	}
	core, err := rpcadapter.New(&cfg, v, rpcadapter.Names{
		PublicMethods: "WithPublicProcedures",
		Key:           "WithHeader",
		KeyKind:       "header name",
		ValidKey:      validHeader,
		Noun:          "procedure",
	}, denials)
	if err != nil {
		return nil, err
	}
	return &Interceptor{header: http.CanonicalHeaderKey(core.Key), core: *core}, nil
}

// protocolHeaders are the headers that connect or HTTP itself reads or
// sets: a bearer token there would be lost or misread.
var protocolHeaders = map[string]bool{
	"accept-encoding":   true,
	"connection":        true,
	"content-encoding":  true,
	"content-length":    true,
	"content-type":      true,
	"host":              true,
	"keep-alive":        true,
	"te":                true,
	"trailer":           true,
	"transfer-encoding": true,
	"upgrade":           true,
	"user-agent":        true,
	"x-user-agent":      true,
}

// validHeader reports whether name can carry a bearer token under every
// protocol connect serves: under gRPC it is a metadata key, so it must be a
// valid ASCII one that is not binary, and it must not be a header of the
// protocols themselves.
func validHeader(name string) bool {
	key := strings.ToLower(name)
	return rpcadapter.ValidMetadataKey(key) && !strings.HasPrefix(key, "connect-") && !protocolHeaders[key]
}
