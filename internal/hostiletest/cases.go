package hostiletest

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/protojwt/protojwt"
)

// Case is one hostile (or, to show the edge, acceptable) request. Its
// Authorization values are ones both HTTP/1.1 and gRPC clients send as they
// are: printable ASCII, no leading or trailing space (which HTTP trims), so
// that both servers see the same bytes. Control characters such as a tab
// are the bearer parser's own tests.
type Case struct {
	// Name says what the request tries.
	Name string
	// Authorization builds the request's Authorization values, one header
	// (HTTP) or metadata value (gRPC) each; none for no header at all.
	Authorization func(e *Env) []string
	// Reason is the stable reason of the denial (rules.Reason...), or ""
	// when the request must reach the handler: with the caller's token, or
	// with none when the case sends no Authorization value (a rule with
	// allow_missing lets it through).
	Reason string
}

// bearer is one Authorization value carrying tok.
func bearer(tok string) []string { return []string{"Bearer " + tok} }

// Cases returns the table, in a fixed order. Negative cases outnumber the
// others; the positive ones mark where the refusals stop.
func Cases() []Case {
	const (
		allowed  = ""
		invalid  = protojwt.ReasonTokenInvalid
		expired  = protojwt.ReasonTokenExpired
		missing  = protojwt.ReasonTokenMissing
		mismatch = protojwt.ReasonClaimMismatch
		// malformed: the credential is malformed as a request.
		malformed = protojwt.ReasonRequestMalformed
	)
	nowPlus := func(e *Env, seconds int64) int64 { return e.Now.Unix() + seconds }
	leeway := int64(Leeway.Seconds())
	// rawClaims is the JSON text of valid claims with extra members: what
	// a map can't hold, such as a name twice.
	rawClaims := func(e *Env, extra string) string {
		now := e.Now.Unix()
		return fmt.Sprintf(`{"iss":%q,"iat":%d,"nbf":%d,"exp":%d,"jti":"hostile-jti","type":"auth",%s}`,
			Issuer, now, now, now+3600, extra)
	}
	nested := func(depth int, leaf string) any {
		var v any = leaf
		for range depth {
			v = map[string]any{"admin": v}
		}
		return v
	}

	return []Case{
		// The edge of what is accepted.
		{"valid token", func(e *Env) []string { return bearer(e.valid(Subject)) }, allowed},
		{"lower-case scheme", func(e *Env) []string { return []string{"bearer " + e.valid(Subject)} }, allowed},
		{"upper-case scheme", func(e *Env) []string { return []string{"BEARER " + e.valid(Subject)} }, allowed},
		{"nbf in the future within leeway", func(e *Env) []string {
			return bearer(e.sign(header(nil), e.claims(map[string]any{"nbf": nowPlus(e, leeway-5)})))
		}, allowed},
		{"exp passed within leeway", func(e *Env) []string {
			return bearer(e.sign(header(nil), e.claims(map[string]any{"exp": nowPlus(e, -leeway+5)})))
		}, allowed},
		{"jku header signed with the configured key is ignored", func(e *Env) []string {
			return bearer(e.sign(header(map[string]any{"jku": e.trapURL("/jwks.json")}), e.claims(nil)))
		}, allowed},
		{"surrogate pair escaped in a claim", func(e *Env) []string {
			return bearer(e.sign(header(nil), rawClaims(e, `"sub":"alice","note":"\ud83d\ude00"`)))
		}, allowed},
		{"scope nested within the bound", func(e *Env) []string {
			return bearer(e.sign(header(nil), e.claims(map[string]any{"scope": nested(60, "x")})))
		}, allowed},

		// The Authorization values.
		{"no authorization", func(*Env) []string { return nil }, missing},
		{"empty value", func(*Env) []string { return []string{""} }, missing},
		{"scheme alone", func(*Env) []string { return []string{"Bearer"} }, malformed},
		{"token split across two values", func(e *Env) []string {
			tok := e.valid(Subject)
			dot := strings.LastIndexByte(tok, '.')
			return []string{"Bearer " + tok[:dot], tok[dot:]}
		}, malformed},
		{"token split across two bearer values", func(e *Env) []string {
			tok := e.valid(Subject)
			dot := strings.LastIndexByte(tok, '.')
			return []string{"Bearer " + tok[:dot], "Bearer " + tok[dot+1:]}
		}, malformed},
		{"the same token twice", func(e *Env) []string {
			tok := e.valid(Subject)
			return []string{"Bearer " + tok, "Bearer " + tok}
		}, malformed},
		{"a valid token and an empty value", func(e *Env) []string { return []string{"Bearer " + e.valid(Subject), ""} }, malformed},
		{"two spaces after the scheme", func(e *Env) []string { return []string{"Bearer  " + e.valid(Subject)} }, malformed},
		{"no space after the scheme", func(e *Env) []string { return []string{"Bearer" + e.valid(Subject)} }, malformed},
		{"another scheme's prefix", func(e *Env) []string { return []string{"Bearerx " + e.valid(Subject)} }, malformed},
		{"a second token", func(e *Env) []string {
			return []string{"Bearer " + e.valid(Subject) + " " + e.valid("mallory")}
		}, malformed},
		{"a comma-separated list", func(e *Env) []string {
			return []string{"Bearer " + e.valid(Subject) + ", Bearer " + e.valid(Subject)}
		}, malformed},
		{"basic scheme", func(*Env) []string { return []string{"Basic YWxpY2U6d29uZGVybGFuZA=="} }, malformed},
		{"token without a scheme", func(e *Env) []string { return []string{e.valid(Subject)} }, malformed},
		{"padded base64", func(e *Env) []string { return []string{"Bearer " + e.valid(Subject) + "=="} }, invalid},
		{"value just over the size bound", func(e *Env) []string {
			return bearer(e.sign(header(nil), e.claims(map[string]any{"pad": strings.Repeat("a", 6<<10)})))
		}, invalid},
		{"very long value", func(*Env) []string { return []string{"Bearer " + strings.Repeat("A", 64<<10)} }, invalid},
		// Refused by its length, as Verify would, before its bytes are read:
		// the bad last byte is never seen.
		{"value over the size bound with a bad last byte", func(*Env) []string { return []string{"Bearer " + strings.Repeat("A", 9<<10) + `"`} }, invalid},
		{"value under the size bound with a bad last byte", func(*Env) []string { return []string{"Bearer " + strings.Repeat("A", 7<<10) + `"`} }, malformed},

		// The payload.
		{"duplicate sub, the caller's last", func(e *Env) []string {
			return bearer(e.sign(header(nil), rawClaims(e, `"sub":"mallory","sub":"alice"`)))
		}, invalid},
		{"duplicate sub, the caller's first", func(e *Env) []string {
			return bearer(e.sign(header(nil), rawClaims(e, `"sub":"alice","sub":"mallory"`)))
		}, invalid},
		{"duplicate sub, one escaped", func(e *Env) []string {
			return bearer(e.sign(header(nil), rawClaims(e, `"sub":"alice","s\u0075b":"alice"`)))
		}, invalid},
		{"duplicate exp", func(e *Env) []string {
			return bearer(e.sign(header(nil), rawClaims(e, fmt.Sprintf(`"sub":"alice","exp":%d`, nowPlus(e, 7200)))))
		}, invalid},
		{"exp as a string", func(e *Env) []string {
			return bearer(e.sign(header(nil), e.claims(map[string]any{"exp": fmt.Sprint(nowPlus(e, 3600))})))
		}, invalid},
		{"exp far past year 9999", func(e *Env) []string {
			return bearer(e.sign(header(nil), e.claims(map[string]any{"exp": 1e300})))
		}, invalid},
		{"no exp", func(e *Env) []string { return bearer(e.sign(header(nil), e.claims(nil, "exp"))) }, invalid},
		{"sub as a number", func(e *Env) []string {
			return bearer(e.sign(header(nil), e.claims(map[string]any{"sub": 42})))
		}, invalid},
		{"sub as an array", func(e *Env) []string {
			return bearer(e.sign(header(nil), e.claims(map[string]any{"sub": []any{Subject}})))
		}, invalid},
		{"type unknown", func(e *Env) []string {
			return bearer(e.sign(header(nil), e.claims(map[string]any{"type": "admin"})))
		}, invalid},
		{"scope as a huge nested object", func(e *Env) []string {
			return bearer(e.sign(header(nil), e.claims(map[string]any{"scope": nested(1000, "x")})))
		}, invalid},
		{"scope nested one level past the bound", func(e *Env) []string {
			return bearer(e.sign(header(nil), e.claims(map[string]any{"scope": nested(64, "x")})))
		}, invalid},
		{"deeply nested arrays", func(e *Env) []string {
			return bearer(e.sign(header(nil), rawClaims(e, `"sub":"alice","x":`+strings.Repeat("[", 2400)+strings.Repeat("]", 2400))))
		}, invalid},
		{"sub not UTF-8", func(e *Env) []string {
			return bearer(e.sign(header(nil), rawClaims(e, "\"sub\":\"alice\xff\"")))
		}, invalid},
		{"claim name not UTF-8", func(e *Env) []string {
			return bearer(e.sign(header(nil), rawClaims(e, "\"sub\":\"alice\",\"r\xc3le\":\"admin\"")))
		}, invalid},
		{"lone surrogate in sub", func(e *Env) []string {
			return bearer(e.sign(header(nil), rawClaims(e, `"sub":"alice\udc00"`)))
		}, invalid},
		{"payload not an object", func(e *Env) []string { return bearer(e.sign(header(nil), `["alice"]`)) }, invalid},
		{"another subject", func(e *Env) []string { return bearer(e.valid("mallory")) }, mismatch},
		{"refresh token", func(e *Env) []string { return bearer(e.refresh(Subject)) }, protojwt.ReasonTokenType},

		// Times.
		{"nbf in the future beyond leeway", func(e *Env) []string {
			return bearer(e.sign(header(nil), e.claims(map[string]any{"nbf": nowPlus(e, leeway+5)})))
		}, invalid},
		{"iat in the future beyond leeway", func(e *Env) []string {
			return bearer(e.sign(header(nil), e.claims(map[string]any{"iat": nowPlus(e, leeway+5), "nbf": nowPlus(e, -60)})))
		}, invalid},
		{"issued a year ahead", func(e *Env) []string {
			year := int64(365 * 24 * 3600)
			return bearer(e.sign(header(nil), e.claims(map[string]any{
				"iat": nowPlus(e, year), "nbf": nowPlus(e, year), "exp": nowPlus(e, year+3600),
			})))
		}, invalid},
		{"exp passed beyond leeway", func(e *Env) []string {
			return bearer(e.sign(header(nil), e.claims(map[string]any{"exp": nowPlus(e, -leeway-5)})))
		}, expired},

		// The header.
		{"kid with path characters", func(e *Env) []string {
			return bearer(e.sign(header(map[string]any{"kid": "../../../../etc/passwd"}), e.claims(nil)))
		}, invalid},
		{"kid as a URL", func(e *Env) []string {
			return bearer(e.sign(header(map[string]any{"kid": e.trapURL("/key.pem")}), e.claims(nil)))
		}, invalid},
		{"kid not a string", func(e *Env) []string {
			return bearer(e.sign(header(map[string]any{"kid": []any{KeyID}}), e.claims(nil)))
		}, invalid},
		{"duplicate kid", func(e *Env) []string {
			return bearer(e.sign(header(nil), `{"alg":"ES256","typ":"JWT","kid":"`+KeyID+`","kid":"other"}`))
		}, invalid},
		{"jwk header with the attacker's key", func(e *Env) []string {
			return bearer(e.signAttacker(header(map[string]any{"jwk": e.attackerJWK()}), e.claims(nil)))
		}, invalid},
		{"jku header to the attacker's keys", func(e *Env) []string {
			return bearer(e.signAttacker(header(map[string]any{"jku": e.trapURL("/jwks.json")}), e.claims(nil)))
		}, invalid},
		{"x5u header to the attacker's certificate", func(e *Env) []string {
			return bearer(e.signAttacker(header(map[string]any{"x5u": e.trapURL("/cert.pem")}), e.claims(nil)))
		}, invalid},
		{"x5c header with the attacker's certificate", func(e *Env) []string {
			return bearer(e.signAttacker(header(map[string]any{"x5c": []any{e.attackerCertificate()}}), e.claims(nil)))
		}, invalid},
		{"crit header naming a registered claim", func(e *Env) []string {
			return bearer(e.sign(header(map[string]any{"crit": []any{"exp"}}), e.claims(nil)))
		}, invalid},
		{"crit header naming an extension", func(e *Env) []string {
			return bearer(e.sign(header(map[string]any{"crit": []any{"b64"}, "b64": false}), e.claims(nil)))
		}, invalid},
		{"alg none", func(e *Env) []string {
			return bearer(e.segment(header(map[string]any{"alg": "none"})) + "." + e.segment(e.claims(nil)) + ".")
		}, invalid},
		{"HS256 keyed with the public key", func(e *Env) []string {
			return bearer(e.signed(e.publicKeyPEM(), header(map[string]any{"alg": "HS256"}), e.claims(nil)))
		}, invalid},
		{"signature of another token", func(e *Env) []string {
			tok, other := e.valid(Subject), e.valid("mallory")
			return bearer(tok[:strings.LastIndexByte(tok, '.')] + other[strings.LastIndexByte(other, '.'):])
		}, invalid},
		{"signature base64 with trailing bits", func(e *Env) []string {
			tok := e.valid(Subject)
			sig := tok[strings.LastIndexByte(tok, '.')+1:]
			raw, _ := base64.RawURLEncoding.DecodeString(sig)
			// 64 bytes encode to 86 characters, the last with 4 unused bits.
			last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", sig[len(sig)-1])
			if len(raw) != 64 || last&1 != 0 {
				e.tb.Fatalf("hostiletest: unexpected signature encoding")
			}
			return bearer(tok[:len(tok)-1] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last|1]))
		}, invalid},
	}
}
