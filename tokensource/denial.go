package tokensource

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/manager"
)

// endingReasons are the protojwt reasons of a refused refresh that no retry
// can change. A malformed request is one: the [RefreshFunc] would send the
// same malformed request again, every time, and so is a bound refresh
// token sent without its proof of possession. A proof refused
// (PROOF_INVALID) is not: each attempt signs a new one, which a nonce or a
// corrected clock can make pass.
var endingReasons = map[string]bool{
	protojwt.ReasonTokenRevoked:     true,
	protojwt.ReasonTokenExpired:     true,
	protojwt.ReasonTokenInvalid:     true,
	protojwt.ReasonTokenType:        true,
	protojwt.ReasonRequestMalformed: true,
	protojwt.ReasonProofMissing:     true,
}

// endingErrors are the same refusals from a [manager.Manager] in the same
// process (a [RefreshFunc] calling RotateRefreshToken directly).
// ErrRefreshReuse wraps ErrRevoked.
var endingErrors = []error{
	manager.ErrRevoked, manager.ErrExpired, manager.ErrTokenType,
	manager.ErrMalformed, manager.ErrSignature, manager.ErrAlgorithm,
	manager.ErrIssuer, manager.ErrAudience,
}

// loginOver reports whether err, from a [RefreshFunc], means the login is
// over. Anything it does not recognize is taken as passing: a bare
// Unauthenticated without a protojwt reason may be a store outage that
// the server reported badly, and the next refresh, if the login is over,
// says so with a reason.
func loginOver(err error) bool {
	if errors.Is(err, manager.ErrRevocationUnavailable) || errors.Is(err, manager.ErrKeysUnavailable) {
		return false // outages: the same token passes once they end
	}
	for _, e := range endingErrors {
		if errors.Is(err, e) {
			return true
		}
	}
	if reason, ok := protojwt.ReasonOf(err); ok {
		return endingReasons[reason]
	}
	if reason, ok := connectReason(err); ok {
		return endingReasons[reason]
	}
	var re *ResponseError
	if errors.As(err, &re) {
		// invalid_grant: an OAuth 2.0 token endpoint's word for a refresh
		// token that is invalid, expired or revoked (RFC 6749, section 5.2).
		return endingReasons[re.Reason] || re.Code == "invalid_grant"
	}
	return false
}

// connectReason reads the protojwt reason of a connect error's
// google.rpc.ErrorInfo detail.
func connectReason(err error) (string, bool) {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return "", false
	}
	for _, d := range ce.Details() {
		v, derr := d.Value()
		if derr != nil {
			continue
		}
		if info, ok := v.(*errdetails.ErrorInfo); ok && info.GetDomain() == protojwt.Domain && info.GetReason() != "" {
			return info.GetReason(), true
		}
	}
	return "", false
}

// ResponseError is an HTTP answer other than 2xx, as [CheckResponse] reads
// it: a [RefreshFunc] over HTTP returns it so that the Refresher can tell a
// login that is over from a passing failure.
type ResponseError struct {
	// StatusCode is the HTTP status code.
	StatusCode int
	// Code is the "error" member of the JSON body (RFC 6749 and RFC 6750:
	// "invalid_token", "invalid_grant"), "" when none.
	Code string
	// Reason is the "reason" member of a protojwt denial's JSON body (a
	// protojwt.Reason* constant), "" when none.
	Reason string
}

// Error returns the status and the denial's code and reason.
func (e *ResponseError) Error() string {
	msg := fmt.Sprintf("tokensource: HTTP %d", e.StatusCode)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Reason != "" {
		msg += " (" + e.Reason + ")"
	}
	return msg
}

// maxErrorBody bounds what [CheckResponse] reads of an error's body.
const maxErrorBody = 16 << 10

// CheckResponse returns nil for a 2xx answer, and otherwise a
// *ResponseError with the "error" and "reason" members of its JSON body,
// if any. It reads at most 16 KiB of the body; the caller still closes it.
func CheckResponse(resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	e := &ResponseError{StatusCode: resp.StatusCode}
	var body struct {
		Error  string `json:"error"`
		Reason string `json:"reason"`
	}
	if resp.Body != nil {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		if json.Unmarshal(b, &body) == nil {
			e.Code, e.Reason = word(body.Error), word(body.Reason)
		}
	}
	return e
}

// word returns s if it is a short word of letters, digits, '_', '-' and
// '.', as error codes and reasons are, and "" otherwise: the body comes
// from the network and ends up in error messages and logs.
func word(s string) string {
	if len(s) > 64 {
		return ""
	}
	for _, c := range []byte(s) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
		if !ok {
			return ""
		}
	}
	return s
}
