package introspection_test

import (
	"crypto"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// server is an RFC 7662 introspection endpoint on loopback: it
// authenticates its client (client_secret_basic, or private_key_jwt
// checked with its public key), then answers what it knows of the token.
type server struct {
	*httptest.Server
	issuer   string
	clientID string
	secret   string           // client_secret_basic
	key      crypto.PublicKey // private_key_jwt

	mu      sync.Mutex
	tokens  map[string]map[string]any // active tokens' answers
	status  int                       // when not 0, every answer's status
	body    string                    // when not "", every answer's body
	delay   time.Duration
	block   chan struct{} // when not nil, answers wait for it to close
	calls   atomic.Int32
	lastErr string // why the last request was refused
}

func newServer(t testing.TB) *server {
	t.Helper()
	s := &server{clientID: "orders-api", secret: "s3cret:/&", tokens: map[string]map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /introspect", s.introspect)
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": s.issuer, "introspection_endpoint": s.URL + "/introspect"})
	})
	s.Server = httptest.NewServer(mux)
	s.issuer = s.URL
	t.Cleanup(func() {
		s.mu.Lock()
		if s.block != nil {
			select {
			case <-s.block:
			default:
				close(s.block)
			}
		}
		s.mu.Unlock()
		s.Close()
	})
	return s
}

// endpoint is the URL of the introspection endpoint.
func (s *server) endpoint() string { return s.URL + "/introspect" }

// add makes token active with the answer's members besides "active".
func (s *server) add(token string, members map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := map[string]any{"active": true}
	for k, v := range members {
		a[k] = v
	}
	s.tokens[token] = a
}

func (s *server) set(f func(s *server)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *server) refused() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

func (s *server) introspect(w http.ResponseWriter, r *http.Request) {
	s.calls.Add(1)
	s.mu.Lock()
	status, body, delay, block := s.status, s.body, s.delay, s.block
	s.mu.Unlock()
	if block != nil {
		<-block
	}
	time.Sleep(delay)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	if why := s.authenticate(r); why != "" {
		s.mu.Lock()
		s.lastErr = why
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
		return
	}
	if status != 0 {
		w.WriteHeader(status)
	}
	if body != "" {
		_, _ = w.Write([]byte(body))
		return
	}
	s.mu.Lock()
	a, ok := s.tokens[r.PostForm.Get("token")]
	s.mu.Unlock()
	if !ok {
		a = map[string]any{"active": false}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(a)
}

// authenticate returns why the client is not authenticated, "" when it is.
func (s *server) authenticate(r *http.Request) string {
	if s.key == nil {
		id, secret, ok := r.BasicAuth()
		if !ok {
			return "no Basic credentials"
		}
		id, _ = unescape(id)
		secret, _ = unescape(secret)
		if id != s.clientID || secret != s.secret {
			return "wrong client credentials"
		}
		return ""
	}
	if r.PostForm.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		return "no client assertion"
	}
	if r.PostForm.Get("client_id") != s.clientID {
		return "wrong client_id"
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(r.PostForm.Get("client_assertion"), claims, func(*jwt.Token) (any, error) { return s.key, nil },
		jwt.WithIssuer(s.clientID), jwt.WithSubject(s.clientID), jwt.WithAudience(s.issuer), jwt.WithExpirationRequired(),
		jwt.WithValidMethods([]string{"RS256", "ES256", "EdDSA"}))
	if err != nil {
		return "bad assertion: " + err.Error()
	}
	if jti, _ := claims["jti"].(string); len(jti) < 16 {
		return "assertion without jti"
	}
	exp, _ := claims.GetExpirationTime()
	if exp == nil || time.Until(exp.Time) > 5*time.Minute {
		return "assertion lives too long"
	}
	return ""
}

// unescape undoes the form encoding of a Basic credential (RFC 6749,
// section 2.3.1).
func unescape(s string) (string, error) { return url.QueryUnescape(s) }
