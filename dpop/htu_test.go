package dpop

import (
	"errors"
	"testing"
)

func TestMethodURL(t *testing.T) {
	tests := []struct{ scheme, authority, method, want string }{
		{"https", "api.example.com", "/orders.v1.OrderService/GetOrder", "https://api.example.com/orders.v1.OrderService/GetOrder"},
		{"http", "127.0.0.1:8080", "/pkg.S/M", "http://127.0.0.1:8080/pkg.S/M"},
		{"https", "api.example.com", "pkg.S/M", "https://api.example.com/pkg.S/M"},
	}
	for _, tt := range tests {
		if got := MethodURL(tt.scheme, tt.authority, tt.method); got != tt.want {
			t.Errorf("MethodURL(%q, %q, %q) = %q; want %q", tt.scheme, tt.authority, tt.method, got, tt.want)
		}
	}
}

func TestBaseURL(t *testing.T) {
	good := []struct{ base, method, want string }{
		{"https://api.example.com", "/pkg.S/M", "https://api.example.com/pkg.S/M"},
		{"https://api.example.com/", "/pkg.S/M", "https://api.example.com/pkg.S/M"},
		{"HTTPS://API.example.com:443/grpc/", "/pkg.S/M", "https://api.example.com/grpc/pkg.S/M"},
		{"http://10.0.0.1:8080/rpc", "pkg.S/M", "http://10.0.0.1:8080/rpc/pkg.S/M"},
	}
	for _, tt := range good {
		b, err := ParseBaseURL(tt.base)
		if err != nil {
			t.Fatalf("ParseBaseURL(%q): %v", tt.base, err)
		}
		if got := b.MethodURL(tt.method); got != tt.want {
			t.Errorf("%q.MethodURL(%q) = %q; want %q", tt.base, tt.method, got, tt.want)
		}
	}
	for _, bad := range []string{"", "api.example.com", "/grpc", "ftp://api.example.com", "https://u:p@api.example.com",
		"https://api.example.com/?a=1", "https://api.example.com/#f", "https:///path", "https://api.example.com/%zz", "mailto:a@b"} {
		if b, err := ParseBaseURL(bad); !errors.Is(err, ErrBaseURL) {
			t.Errorf("ParseBaseURL(%q) = %v, %v; want ErrBaseURL", bad, b, err)
		}
	}
}

// TestSameURL: RFC 9449 §4.3 compares htu without query and fragment,
// after RFC 3986 §6.2.2 normalisation; nothing else is equal.
func TestSameURL(t *testing.T) {
	tests := []struct {
		htu, call string
		same      bool
	}{
		{"https://a.example/p", "https://a.example/p", true},
		{"https://A.EXAMPLE/p", "https://a.example/p", true},
		{"HTTPS://a.example/p", "https://a.example/p", true},
		{"https://a.example:443/p", "https://a.example/p", true},
		{"https://a.example:/p", "https://a.example/p", true},
		{"http://a.example:80/p", "http://a.example/p", true},
		{"https://a.example", "https://a.example/", true},
		{"https://a.example/p?x=1", "https://a.example/p", true},
		{"https://a.example/p#f", "https://a.example/p?y", true},
		{"https://a.example/%7Euser", "https://a.example/~user", true},
		{"https://a.example/a%2fb", "https://a.example/a%2Fb", true},
		{"https://a.example/a/./b/../c", "https://a.example/a/c", true},
		{"https://a.example/P", "https://a.example/p", false},
		{"https://a.example/p/", "https://a.example/p", false},
		{"https://a.example/a%2Fb", "https://a.example/a/b", false},
		{"http://a.example/p", "https://a.example/p", false},
		{"https://a.example:80/p", "https://a.example/p", false},
		{"http://a.example:443/p", "http://a.example/p", false},
		{"https://b.example/p", "https://a.example/p", false},
		{"https://a.example.evil/p", "https://a.example/p", false},
		{"https://x@a.example/p", "https://a.example/p", false},
		{"/p", "https://a.example/p", false},
		{"", "https://a.example/p", false},
		{"", "", false},
		{"ftp://a.example/p", "ftp://a.example/p", false},
		{"https://a.example/%zz", "https://a.example/%zz", true}, // the server's own URL, equal: the fast path
		{"https://a.example/%zz", "https://a.example/%ZZ", false},
		{"https://a.example/%", "https://a.example/%25", false},
	}
	for _, tt := range tests {
		if got := sameURL(tt.htu, tt.call); got != tt.same {
			t.Errorf("sameURL(%q, %q) = %v; want %v", tt.htu, tt.call, got, tt.same)
		}
	}
}
