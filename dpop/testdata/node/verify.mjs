// Checks DPoP proofs with the npm jose package, another implementation of
// JWS, for package dpop's interop tests. Reads [{"proof", "htm", "htu",
// "ath"}] on stdin; writes, for each, {"ok", "error", "jkt", "alg"}: the
// signature must verify with the header's jwk, typ must be dpop+jwt, and
// the claims must be those given.
import { jwtVerify, EmbeddedJWK, calculateJwkThumbprint, decodeProtectedHeader } from 'jose'

let input = ''
for await (const chunk of process.stdin) input += chunk

const out = []
for (const { proof, htm, htu, ath } of JSON.parse(input)) {
  try {
    const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: ['ES256', 'ES384', 'ES512', 'RS256', 'PS256', 'EdDSA', 'Ed25519'],
    })
    if (payload.htm !== htm || payload.htu !== htu || payload.ath !== ath ||
        typeof payload.jti !== 'string' || typeof payload.iat !== 'number') {
      throw new Error('claims differ: ' + JSON.stringify(payload))
    }
    out.push({ ok: true, alg: protectedHeader.alg, jkt: await calculateJwkThumbprint(protectedHeader.jwk, 'sha256') })
  } catch (e) {
    let alg = ''
    try { alg = decodeProtectedHeader(proof).alg } catch {}
    out.push({ ok: false, alg, error: String(e && e.message) })
  }
}
process.stdout.write(JSON.stringify(out))
