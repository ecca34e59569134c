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
//	path, handler := pbconnect.NewUsersServiceHandler(srv, connect.WithInterceptors(auth),
//		connect.WithReadMaxBytes(4<<20))       // bounds a decoded message
//	mux.Handle(path, handler)
//	if err := auth.CheckHandlers(path); err != nil {
//		log.Fatal(err)                       // a procedure served without a rule
//	}
//	http.ListenAndServe(addr, auth.Wrap(mux)) // refuses before the body is read
//	// in a handler: tok, ok := manager.FromContext(ctx)
//
// Serve the mux through [Interceptor.Wrap]: connect-go decodes a request
// before any interceptor runs, and Wrap refuses a call without a valid
// token from its headers first. The interceptor alone enforces the same
// rules, at the cost of decoding what it refuses.
//
// Denials are *[connect.Error] values with code Unauthenticated,
// PermissionDenied or Unavailable and a google.rpc.ErrorInfo detail of
// domain [protojwt.Domain] whose reason [protojwt.ReasonOf] reads on the
// client side.
package connectauth
