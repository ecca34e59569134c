// Package connectauth enforces the protojwt rules declared in .proto files
// on connect-go handlers (connectrpc.com/connect), under every protocol
// they serve: Connect, gRPC and gRPC-Web. The rules and their outcomes are
// those of package interceptor for grpc-go: the same options, the same
// rule engine, the same reasons.
//
//	m, _ := manager.New(cfg)                     // verifies the tokens
//	auth, err := connectauth.New(m)              // compiles every rule
//	if err != nil {
//		log.Fatal(err)                       // a rule that can't be enforced
//	}
//	mux := http.NewServeMux()
//	path, handler := pbconnect.NewUsersServiceHandler(srv, connect.WithInterceptors(auth))
//	mux.Handle(path, handler)
//	if err := auth.CheckHandlers(path); err != nil {
//		log.Fatal(err)                       // a procedure served without a rule
//	}
//	// in a handler: tok, ok := manager.FromContext(ctx)
//
// Denials are *connect.Error values with code Unauthenticated,
// PermissionDenied or Unavailable and a google.rpc.ErrorInfo detail of
// domain protojwt.Domain whose reason protojwt.ReasonOf reads on the
// client side.
package connectauth
