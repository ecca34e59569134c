package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/protojwt/protojwt/dpop"
)

// ServiceToken returns an access token of the "service" client for scope
// (space separated), by the client credentials grant.
func (p *Provider) ServiceToken(ctx context.Context, scope string) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}
	out, err := p.token(ctx, "service", form)
	if err != nil {
		return "", err
	}
	return out.AccessToken, nil
}

// OpaqueServiceToken returns an opaque access token of the "service"
// client for scope, for OpaqueResource: no JWT, only its introspection
// says what it grants.
func (p *Provider) OpaqueServiceToken(ctx context.Context, scope string) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}, "resource": {OpaqueResource}}
	out, err := p.token(ctx, "service", form)
	if err != nil {
		return "", err
	}
	return out.AccessToken, nil
}

// DPoPServiceToken returns an access token of the "service" client for
// scope, bound to the key of signer (RFC 9449): the token request carries
// a proof of the key, and the token's cnf.jkt is the key's thumbprint.
// A provider that answers with another token_type than DPoP is an error.
func (p *Provider) DPoPServiceToken(ctx context.Context, scope string, signer *dpop.Signer) (string, error) {
	proof, err := signer.Proof(dpop.Call{Method: http.MethodPost, URL: p.Issuer + "/token"}, "")
	if err != nil {
		return "", err
	}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}
	out, err := p.tokenWithProof(ctx, "service", form, proof)
	if err != nil {
		return "", err
	}
	if !strings.EqualFold(out.TokenType, "DPoP") {
		return "", fmt.Errorf("provider: token_type %q, want DPoP", out.TokenType)
	}
	return out.AccessToken, nil
}

// tokenResponse is the provider's token endpoint answer.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	IDToken     string `json:"id_token"`
	TokenType   string `json:"token_type"`
}

func (p *Provider) token(ctx context.Context, client string, form url.Values) (*tokenResponse, error) {
	return p.tokenWithProof(ctx, client, form, "")
}

// tokenWithProof asks the token endpoint, with a DPoP proof when proof is
// not empty.
func (p *Provider) tokenWithProof(ctx context.Context, client string, form url.Values, proof string) (*tokenResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.Issuer+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(client, secret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("provider: token endpoint: %d %s", resp.StatusCode, b)
	}
	var out tokenResponse
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
