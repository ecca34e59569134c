package httpauth

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/internal/bearer"
	"github.com/protojwt/protojwt/internal/denial"
)

// Error is a refused request: what the default response tells the client,
// and what an error handler ([WithErrorHandler]) is given.
type Error struct {
	// Status is the HTTP status: [http.StatusBadRequest] (400) when the
	// credential is malformed as a request (no "Bearer" or "DPoP" scheme, an empty
	// token, a space inside, several Authorization headers),
	// [http.StatusUnauthorized] (401) when the
	// caller sent no valid token of the required type,
	// [http.StatusForbidden] (403) when the token lacks a claim or scope,
	// or when a request authenticated by a cookie lacks its CSRF token, and
	// [http.StatusServiceUnavailable] (503) when the token can't be checked
	// now (the revocation store, or DPoP's replay cache, does not answer,
	// or the keys of the token's issuer are missing or too old), with a
	// Retry-After header (RFC 9110 section 10.2.3). Invalid requirements
	// never reach a request: Require and Handle panic, Compile returns an
	// error.
	Status int
	// Reason is the stable reason, the same as the reason of the gRPC
	// interceptor's ErrorInfo: REQUEST_MALFORMED with 400; TOKEN_MISSING,
	// TOKEN_INVALID, TOKEN_EXPIRED,
	// TOKEN_REVOKED, TOKEN_TYPE, PROOF_MISSING or PROOF_INVALID with 401; CLAIM_MISMATCH, SCOPE_MISSING,
	// NO_ALTERNATIVE, EXPRESSION_FALSE, EXPRESSION_ERROR or CSRF_MISMATCH
	// with 403; REVOCATION_UNAVAILABLE or KEYS_UNAVAILABLE with 503.
	Reason string
	// Err is the cause: an error wrapping one of manager's Err* sentinels,
	// such as [manager.ErrExpired], except for CSRF_MISMATCH and the
	// expression reasons, which Reason names. It never holds the token, but
	// it is for logs, not for clients.
	Err error
}

// Error returns the reason and the cause.
func (e *Error) Error() string {
	if e.Err == nil {
		return "httpauth: " + e.Reason
	}
	return "httpauth: " + e.Reason + ": " + e.Err.Error()
}

// Unwrap returns the cause, so that errors.Is(e, [manager.ErrExpired]) works.
func (e *Error) Unwrap() error { return e.Err }

// description returns the client-facing text of e: the same short fixed
// text as the gRPC interceptor's status message, from the denial table,
// never derived from the token or from an error that could quote it; a
// credential malformed as a request is told what was wrong. With detailed,
// the text of e's cause follows.
func description(e *Error, detailed bool) string {
	if re, ok := errors.AsType[*bearer.RequestError](e.Err); ok {
		return re.Message
	}
	d := denial.Of(e.Reason).Text
	if detailed && e.Err != nil {
		d += ": " + e.Err.Error()
	}
	return d
}

// errorBody is the JSON body of a refusal.
type errorBody struct {
	Error  string `json:"error"`
	Reason string `json:"reason"`
}

// writeError writes the default response to a refused request, the one
// place that turns an Error into HTTP. It follows RFC 6750: a 401 challenges
// with error="invalid_token", or with the realm alone when no token was sent
// (section 3.1 asks for no error code then), and a refused proof of
// possession with DPoP error="invalid_dpop_proof" or "use_dpop_nonce" and
// a DPoP-Nonce header (RFC 9449 sections 7.1 and 8), or Bearer
// error="invalid_token" for a client certificate; a 403 with
// error="insufficient_scope"; a 400 with error="invalid_request"; a 503 has
// no challenge but a Retry-After of its reason (retryAfter). The body is {"error": description, "reason": e.Reason},
// never cached, except a 400's, whose "error" is "invalid_request" (its
// description is in the challenge).
func (g *Guard) writeError(w http.ResponseWriter, e *Error) {
	desc := description(e, g.detailed)
	h := w.Header()
	challenge, proof := g.proofChallenge(e, desc)
	switch {
	case proof:
		h.Set("WWW-Authenticate", challenge)
	case e.Status == http.StatusBadRequest:
		h.Set("WWW-Authenticate", g.challenge+`, error="invalid_request", error_description=`+quote(desc))
		desc = "invalid_request"
	case e.Status == http.StatusUnauthorized && e.Reason == protojwt.ReasonTokenMissing:
		h.Set("WWW-Authenticate", g.challenge)
	case e.Status == http.StatusUnauthorized:
		h.Set("WWW-Authenticate", g.challenge+`, error="invalid_token", error_description=`+quote(desc))
	case e.Status == http.StatusForbidden:
		h.Set("WWW-Authenticate", g.challenge+`, error="insufficient_scope", error_description=`+quote(desc))
	case e.Status == http.StatusServiceUnavailable:
		h.Set("Retry-After", retryAfter(e.Reason))
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.Status)
	body, err := json.Marshal(errorBody{Error: desc, Reason: e.Reason})
	if err != nil {
		return // two strings always encode
	}
	_, _ = w.Write(append(body, '\n'))
}

// retryAfter returns the Retry-After seconds of a 503 of reason. Keys come
// back with the identity provider, which a Manager polls with a backoff
// that starts at a second and grows; a revocation store usually returns
// within a second or two. Either way a client that waits a little finds
// the outage over or not, and retries again: the values bound the load a
// crowd of retrying clients adds to an outage rather than predict its end.
func retryAfter(reason string) string {
	if reason == protojwt.ReasonKeysUnavailable {
		return "5"
	}
	return "1"
}

// quote returns s as an RFC 9110 quoted-string: quotes and backslashes
// escaped, control characters (which no header can carry) dropped.
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\t' || (c >= ' ' && c != 0x7f):
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
