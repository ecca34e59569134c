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
// place that turns an Error into HTTP, with the headers and body of
// response: those of a refusal whose text depends on its reason alone are
// built once per Guard (see refusals), and written with one allocation for
// all the header values.
func (g *Guard) writeError(w http.ResponseWriter, e *Error) {
	resp, ok := g.refusals.of(e)
	if !ok {
		resp = g.buildResponse(e)
	}
	h := w.Header()
	vals := make([]string, 5) // one allocation for every value; each its own slice, of capacity 1
	set := func(i int, key, v string) {
		vals[i] = v
		h[key] = vals[i : i+1 : i+1] // canonical keys, as Set would make them
	}
	if resp.challenge != "" {
		set(0, "Www-Authenticate", resp.challenge)
	}
	if resp.retryAfter != "" {
		set(1, "Retry-After", resp.retryAfter)
	}
	set(2, "Content-Type", "application/json")
	set(3, "Cache-Control", "no-store")
	set(4, "X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.Status)
	_, _ = w.Write(resp.body)
}

// response is what the default response to a refusal says beyond its
// status: immutable once built.
type response struct {
	challenge  string // the WWW-Authenticate value; "" for none
	retryAfter string // the Retry-After value; "" for none
	body       []byte // the JSON body and a newline
}

// buildResponse builds the response to e. It follows RFC 6750: a 401 challenges
// with error="invalid_token", or with the realm alone when no token was sent
// (section 3.1 asks for no error code then), and a refused proof of
// possession with DPoP error="invalid_dpop_proof" or "use_dpop_nonce" and
// a DPoP-Nonce header (RFC 9449 sections 7.1 and 8), or Bearer
// error="invalid_token" for a client certificate; a 403 with
// error="insufficient_scope"; a 400 with error="invalid_request"; a 503 has
// no challenge but a Retry-After of its reason (retryAfter). The body is {"error": description, "reason": e.Reason},
// never cached, except a 400's, whose "error" is "invalid_request" (its
// description is in the challenge).
func (g *Guard) buildResponse(e *Error) response {
	desc := description(e, g.detailed)
	var resp response
	challenge, proof := g.proofChallenge(e, desc)
	switch {
	case proof:
		resp.challenge = challenge
	case e.Status == http.StatusBadRequest:
		resp.challenge = g.challenge + `, error="invalid_request", error_description=` + quote(desc)
		desc = "invalid_request"
	case e.Status == http.StatusUnauthorized && e.Reason == protojwt.ReasonTokenMissing:
		resp.challenge = g.challenge
	case e.Status == http.StatusUnauthorized:
		resp.challenge = g.challenge + `, error="invalid_token", error_description=` + quote(desc)
	case e.Status == http.StatusForbidden:
		resp.challenge = g.challenge + `, error="insufficient_scope", error_description=` + quote(desc)
	case e.Status == http.StatusServiceUnavailable:
		resp.retryAfter = retryAfter(e.Reason)
	}
	body, err := json.Marshal(errorBody{Error: desc, Reason: e.Reason})
	if err != nil {
		body = nil // two strings always encode
	}
	resp.body = append(body, '\n')
	return resp
}

// refusals holds the responses of a Guard to the refusals whose response
// depends on their reason alone, by reason, and to each credential
// malformed as a request: every refusal but those of a proof of possession
// (whose challenge depends on the cause) and those of a Guard with
// [WithDetailedErrors] (whose text quotes it). Its zero value holds none.
type refusals struct {
	byReason  map[string]*response
	malformed map[*bearer.RequestError]*response
}

// newRefusals builds the responses of g that refusals can hold.
func newRefusals(g *Guard) refusals {
	if g.detailed {
		return refusals{}
	}
	all := denial.All()
	r := refusals{byReason: make(map[string]*response, len(all)), malformed: make(map[*bearer.RequestError]*response)}
	for reason, a := range all {
		if !proofReason(reason) {
			resp := g.buildResponse(&Error{Status: a.Status, Reason: reason})
			r.byReason[reason] = &resp
		}
	}
	m := denial.Of(protojwt.ReasonRequestMalformed)
	for _, re := range bearer.RequestErrors() {
		resp := g.buildResponse(&Error{Status: m.Status, Reason: protojwt.ReasonRequestMalformed, Err: re})
		r.malformed[re] = &resp
	}
	return r
}

// of returns the response built for e, if any: one of the same status,
// reason and text.
func (r refusals) of(e *Error) (response, bool) {
	var resp *response
	if re, ok := errors.AsType[*bearer.RequestError](e.Err); ok {
		// Its message is the description, whatever the reason.
		if e.Reason == protojwt.ReasonRequestMalformed {
			resp = r.malformed[re]
		}
	} else {
		resp = r.byReason[e.Reason]
	}
	if resp == nil || e.Status != denial.Of(e.Reason).Status {
		return response{}, false
	}
	return *resp, true
}

// proofReason reports whether reason refuses a proof of possession, whose
// challenge depends on the cause (see proofChallenge).
func proofReason(reason string) bool {
	return reason == protojwt.ReasonProofMissing || reason == protojwt.ReasonProofInvalid
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
