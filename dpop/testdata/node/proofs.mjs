// Makes DPoP proofs with the npm dpop package (panva/dpop), another
// implementation of RFC 9449, for package dpop's interop tests. Reads
// {"htm", "htu", "accessToken", "nonce"} on stdin; writes one JSON object
// per algorithm: {"alg", "proof", "jkt"}.
import { generateKeyPair, generateProof, calculateThumbprint } from 'dpop'

let input = ''
for await (const chunk of process.stdin) input += chunk
const { htm, htu, accessToken, nonce } = JSON.parse(input)

const out = []
for (const alg of ['ES256', 'RS256', 'PS256', 'Ed25519']) {
  const keys = await generateKeyPair(alg)
  const proof = await generateProof(keys, htu, htm, nonce || undefined, accessToken || undefined)
  out.push({ alg, proof, jkt: await calculateThumbprint(keys.publicKey) })
}
process.stdout.write(JSON.stringify(out))
