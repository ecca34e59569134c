// Package tokensource gives clients of protojwt services their auth tokens:
// it holds an auth token and a refresh token, refreshes before the auth
// token expires, one refresh at a time, and attaches the tokens to grpc-go,
// connect-go and net/http calls.
//
// A protojwt login service rotates refresh tokens and treats a refresh
// token presented twice as stolen, revoking the whole login. A client that
// refreshes from two goroutines at once logs itself out; a Refresher never
// does:
//
//	src, err := tokensource.New(auth, refresh, func(ctx context.Context, refresh string) (string, string, error) {
//		resp, err := login.Refresh(ctx, &pb.RefreshRequest{},
//			grpc.PerRPCCredentials(tokensource.PerRPCCredentials(tokensource.Static(refresh))))
//		return resp.GetAuthToken(), resp.GetRefreshToken(), err
//	}, tokensource.WithSaveRefreshToken(saveToKeychain))
//	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(tlsCreds),
//		grpc.WithPerRPCCredentials(tokensource.PerRPCCredentials(src)))
//	// connect: connect.WithInterceptors(tokensource.ConnectInterceptor(src))
//	// net/http: &http.Client{Transport: tokensource.RoundTripper(src, nil)}
//
// When the login service refuses a refresh because the login is over
// (protojwt reasons TOKEN_REVOKED, TOKEN_EXPIRED, TOKEN_INVALID,
// TOKEN_TYPE), every call fails with an error wrapping [ErrLoginEnded]: the
// user signs in again.
//
// Tokens bound to the client's key (DPoP, RFC 9449) go with a fresh proof
// of the key on every call, and refresh with the same key; a server's nonce
// is kept and a refused call retried once (see DPoP):
//
//	d, err := tokensource.NewDPoP(signer) // dpop.NewSigner(clientKey)
//	creds := tokensource.PerRPCCredentials(src, tokensource.WithDPoP(d))
//	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(tlsCreds),
//		grpc.WithPerRPCCredentials(creds), grpc.WithUnaryInterceptor(d.UnaryClientInterceptor()))
//
// A service that calls another inside a handler passes on who the call is
// for: Forward hands out the incoming call's verified token, where the
// next service accepts the same audience, and Exchange trades it at the
// identity provider (RFC 8693) for a token of the next service's audience
// that names this service as the actor:
//
//	toInventory := tokensource.Exchange(tokensource.ExchangeConfig{
//		Issuer: idp, ClientID: "orders", ClientSecret: secret, Audience: "inventory",
//	})
//	resp, err := inventory.Reserve(ctx, req, // ctx: the handler's
//		grpc.PerRPCCredentials(tokensource.PerRPCCredentials(toInventory)))
package tokensource
