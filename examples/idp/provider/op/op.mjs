// A real OpenID Provider on loopback for protojwt's identity-provider
// tests and examples/idp: panva's oidc-provider, configured from the
// environment by the Go package that starts it (examples/idp/provider).
//
//   ISSUER   the issuer URL, http://127.0.0.1:PORT
//   PORT     the loopback port to listen on
//   JWKS     the private JWK Set that signs (first key of an alg signs)
//   SECRET   the client secret of the clients that have one
//   RS_JWKS  the public JWK Set of the "resource-server-jwt" client
//            (optional: without it, that client is not registered)
//
// Clients: "service" (client_credentials: RFC 9068 access tokens, typ
// at+jwt, for the resource https://orders.example, DPoP-bound when asked
// with a proof, and opaque access tokens for https://opaque.example),
// "web" (authorization_code: ID tokens and access tokens, as a browser
// login), and the resource servers that introspect tokens (RFC 7662):
// "resource-server" (client_secret_basic) and "resource-server-jwt"
// (private_key_jwt, its keys in RS_JWKS).
import Provider from 'oidc-provider';

const { ISSUER, PORT, JWKS, SECRET, RS_JWKS } = process.env;
if (!ISSUER || !PORT || !JWKS || !SECRET) {
  console.error('op.mjs: ISSUER, PORT, JWKS and SECRET are required');
  process.exit(2);
}
const resource = 'https://orders.example';
// opaqueResource gets opaque access tokens, which only introspection reads.
const opaqueResource = 'https://opaque.example';

// Claims of a login, as identity providers put them: Keycloak's
// realm_access.roles, Auth0's permissions and a namespaced tenant claim.
const claimsOf = (sub) => ({
  tenant: sub === 'bob' ? 'globex' : 'acme',
  realm_access: { roles: sub === 'alice' ? ['orders-admin', 'user'] : ['user'] },
  permissions: sub === 'alice' ? ['orders:delete'] : [],
  'https://acme.example/tier': sub === 'alice' ? 'gold' : 'free',
});

const provider = new Provider(ISSUER, {
  jwks: JSON.parse(JWKS),
  clients: [
    { client_id: 'service', client_secret: SECRET, grant_types: ['client_credentials'], redirect_uris: [], response_types: [] },
    { client_id: 'web', client_secret: SECRET, grant_types: ['authorization_code'], redirect_uris: ['http://127.0.0.1/callback'], response_types: ['code'] },
    { client_id: 'resource-server', client_secret: SECRET, grant_types: [], redirect_uris: [], response_types: [] },
    ...(RS_JWKS ? [{
      client_id: 'resource-server-jwt', token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'RS256',
      jwks: JSON.parse(RS_JWKS), grant_types: [], redirect_uris: [], response_types: [],
    }] : []),
  ],
  pkce: { required: () => false },
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    // DPoP (RFC 9449): a token request with a proof gets an access token
    // bound to its key (cnf.jkt, token_type DPoP); one without stays a
    // bearer token. On by default in oidc-provider 9; said here.
    dPoP: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      getResourceServerInfo: (ctx, indicator) => ({
        scope: 'orders:read orders:write',
        audience: indicator === opaqueResource ? opaqueResource : resource,
        accessTokenFormat: indicator === opaqueResource ? 'opaque' : 'jwt',
        accessTokenTTL: 600,
      }),
      useGrantedResource: () => true,
    },
  },
  findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
  extraTokenClaims: (ctx, token) => claimsOf(token.accountId || token.clientId),
  ttl: { ClientCredentials: 600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60, Interaction: 600, Session: 600, Grant: 600 },
});
provider.on('server_error', (ctx, err) => console.error('op.mjs: server_error', err));
const server = provider.listen(Number(PORT), '127.0.0.1', () => {
  console.log(`LISTENING ${server.address().port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
