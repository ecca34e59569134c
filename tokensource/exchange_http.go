package tokensource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/protojwt/protojwt/internal/metadata"
)

// maxExchangeBody bounds what is read of a token endpoint's answer.
const maxExchangeBody = 64 << 10

// errExchangeAnswer means the token endpoint answered 200 with something
// that is not a usable bearer access token.
var errExchangeAnswer = errors.New("tokensource: the token endpoint's answer is not a bearer access token")

// exchange asks the token endpoint for a token of the audience for
// subject. It returns the token and its life (0 when unknown: not kept).
func (e *exchanger) exchange(ctx context.Context, subject string) (string, time.Duration, error) {
	endpoint, err := e.tokenEndpoint(ctx)
	if err != nil {
		return "", 0, err
	}
	form := url.Values{
		"grant_type":           {grantTokenExchange},
		"subject_token":        {subject},
		"subject_token_type":   {e.cfg.SubjectTokenType},
		"requested_token_type": {TokenTypeAccessToken},
		"audience":             {e.cfg.Audience},
	}
	if e.scope != "" {
		form.Set("scope", e.scope)
	}
	if e.cfg.Actor != nil {
		actor, err := e.cfg.Actor.Token(ctx)
		if err != nil {
			return "", 0, fmt.Errorf("tokensource: the actor token: %w", err)
		}
		if actor != "" {
			form.Set("actor_token", actor)
			form.Set("actor_token_type", e.cfg.ActorTokenType)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, fmt.Errorf("tokensource: the token endpoint: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749, section 2.3.1: the client ID and secret are form-encoded
	// before Basic authentication.
	req.SetBasicAuth(url.QueryEscape(e.cfg.ClientID), url.QueryEscape(e.cfg.ClientSecret))
	resp, err := e.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("tokensource: token exchange: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusBadRequest, resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden:
		return "", 0, fmt.Errorf("%w: %w", ErrExchangeRefused, CheckResponse(resp))
	case resp.StatusCode != http.StatusOK:
		return "", 0, fmt.Errorf("tokensource: token exchange: %w", CheckResponse(resp))
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxExchangeBody+1))
	if err != nil {
		return "", 0, fmt.Errorf("tokensource: token exchange: reading the answer: %w", err)
	}
	return parseExchangeAnswer(b)
}

// parseExchangeAnswer reads a token endpoint's successful answer (RFC
// 8693, section 2.2.1): a bearer access token and its life (0 when
// unknown). Its errors quote no token.
func parseExchangeAnswer(b []byte) (string, time.Duration, error) {
	var answer struct {
		AccessToken     string          `json:"access_token"`
		IssuedTokenType string          `json:"issued_token_type"`
		TokenType       string          `json:"token_type"`
		ExpiresIn       json.RawMessage `json:"expires_in"`
	}
	if len(b) > maxExchangeBody || json.Unmarshal(b, &answer) != nil {
		return "", 0, fmt.Errorf("%w: not a JSON object of at most 64 KiB", errExchangeAnswer)
	}
	switch {
	case answer.AccessToken == "" || len(answer.AccessToken) > maxTokenSize:
		return "", 0, fmt.Errorf("%w: no access_token, or one over 64 KiB", errExchangeAnswer)
	case !strings.EqualFold(answer.TokenType, "Bearer"):
		// A DPoP-bound or N_A token sent as a bearer token would fail, or
		// worse, be a token of another kind.
		return "", 0, fmt.Errorf("%w: token_type %q", errExchangeAnswer, word(answer.TokenType))
	case answer.IssuedTokenType != "" && answer.IssuedTokenType != TokenTypeAccessToken && answer.IssuedTokenType != TokenTypeJWT:
		return "", 0, fmt.Errorf("%w: issued_token_type %q", errExchangeAnswer, word(answer.IssuedTokenType))
	}
	life, err := lifeOf(answer.ExpiresIn, answer.AccessToken)
	if err != nil {
		return "", 0, err
	}
	return answer.AccessToken, life, nil
}

// lifeOf returns how long an exchanged token lives: expires_in (RFC 6749,
// section 5.1), a length of time that no clock skews, or else its exp -
// iat if it is a JWT; 0 when neither says.
func lifeOf(expiresIn json.RawMessage, token string) (time.Duration, error) {
	if len(expiresIn) > 0 && string(expiresIn) != "null" {
		var secs float64
		if json.Unmarshal(expiresIn, &secs) != nil || math.IsNaN(secs) || secs < 0 || secs > maxExp {
			return 0, fmt.Errorf("%w: expires_in is not a number of seconds", errExchangeAnswer)
		}
		if secs == 0 {
			return 0, fmt.Errorf("%w: expires_in is 0", errExchangeAnswer)
		}
		return time.Duration(secs * float64(time.Second)), nil
	}
	if times, err := timesOf(token); err == nil {
		if life, ok := times.life(); ok && life > 0 {
			return life, nil
		}
	}
	return 0, nil
}

// tokenEndpoint returns the token endpoint: TokenURL, or the issuer's
// token_endpoint, read once.
func (e *exchanger) tokenEndpoint(ctx context.Context) (string, error) {
	e.mu.Lock()
	endpoint := e.endpoint
	e.mu.Unlock()
	if endpoint != "" {
		return endpoint, nil
	}
	endpoint, err := discoverTokenEndpoint(ctx, e.cfg.HTTPClient, e.cfg.Issuer)
	if err != nil {
		return "", err
	}
	e.mu.Lock()
	e.endpoint = endpoint
	e.mu.Unlock()
	return endpoint, nil
}

// errDiscovery means the issuer's discovery document could not be read or
// names no usable token endpoint.
var errDiscovery = errors.New("tokensource: discovery of the token endpoint")

// discoverTokenEndpoint reads the token_endpoint of issuer's metadata:
// OpenID Connect Discovery's document, then RFC 8414's.
func discoverTokenEndpoint(ctx context.Context, client *http.Client, issuer string) (string, error) {
	doc, err := metadata.Read(ctx, client, issuer, 0)
	if err != nil {
		return "", fmt.Errorf("%w: %w", errDiscovery, err)
	}
	endpoint, err := doc.URL("token_endpoint")
	if err != nil {
		return "", fmt.Errorf("%w: %w", errDiscovery, err)
	}
	return endpoint, nil
}
