package httpauth_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/protojwt/protojwt/httpauth"
)

// TestMalformedRequest sends credentials malformed as requests to a real
// server: each is refused 400 with error="invalid_request", a description
// that says what was wrong and quotes nothing of the request, and the
// {"error": "invalid_request", "reason": "REQUEST_MALFORMED"} body. A
// token malformed as a JWT, sent as it should be, is only an invalid token.
func TestMalformedRequest(t *testing.T) {
	m := newManager(t)
	alice := authToken(t, m, "alice", nil, nil)
	srv := newHTTPServer(t, httpauth.New(m).Require()(echo))
	const (
		scheme = `authorization: expected \"Bearer <token>\"`
		empty  = scheme + `, the token is empty`
		chars  = scheme + `, one space after the scheme and none in the token`
	)
	tests := []struct {
		name string
		auth []string
		// description is the challenge's error_description, quoted; ""
		// for a refusal other than REQUEST_MALFORMED.
		description string
		reason      string
	}{
		{"token scheme", []string{"Token " + alice}, scheme, "REQUEST_MALFORMED"},
		{"basic scheme", []string{"Basic YWxpY2U6c2VjcmV0"}, scheme, "REQUEST_MALFORMED"},
		{"bare token", []string{alice}, scheme, "REQUEST_MALFORMED"},
		{"two spaces", []string{"Bearer  " + alice}, chars, "REQUEST_MALFORMED"},
		{"space inside", []string{"Bearer " + alice[:20] + " " + alice[20:]}, chars, "REQUEST_MALFORMED"},
		{"empty token", []string{"Bearer "}, empty, "REQUEST_MALFORMED"},
		{"two values", []string{"Bearer " + alice, "Bearer " + alice}, "2 authorization values, expected one", "REQUEST_MALFORMED"},
		{"three values", []string{"Bearer " + alice, "Bearer x", "Bearer y"}, "3 authorization values, expected one", "REQUEST_MALFORMED"},
		{"garbage sent as bearer", []string{"Bearer garbage"}, "", "TOKEN_INVALID"},
		{"bad base64 sent as bearer", []string{"Bearer e~~.e~~.e~~"}, "", "TOKEN_INVALID"},
		{"bad JSON sent as bearer", []string{"Bearer eyJhbGciOiJIUzI1NiIs.eyJzdWIi.c2ln"}, "", "TOKEN_INVALID"},
		{"tampered signature", []string{"Bearer " + alice[:len(alice)-4] + "AAAA"}, "", "TOKEN_INVALID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := send(t, srv, "/", tt.auth)
			checkRefused(t, w, tt.reason)
			challenge := strings.Join(w.Header().Values("WWW-Authenticate"), " ")
			if tt.description != "" {
				if want := malformedChallenge("protojwt") + tt.description + `"`; challenge != want {
					t.Errorf("WWW-Authenticate = %q, want %q", challenge, want)
				}
				if w.Code != http.StatusBadRequest {
					t.Errorf("status %d, want 400", w.Code)
				}
			}
			for _, v := range tt.auth {
				if len(v) >= 16 && strings.Contains(challenge+w.Body.String(), v[len(v)-16:]) {
					t.Errorf("the refusal quotes the request")
				}
			}
		})
	}
}
