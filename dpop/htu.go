package dpop

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// MethodURL returns the htu of a gRPC or connect call: scheme ("https" over
// TLS, "http" without), the authority the client dialled (grpc's :authority,
// connect's Host) and the full method "/package.Service/Method", as
// "{scheme}://{authority}/{package.Service}/{Method}". Proofs are compared
// with it after normalisation, so the case of the scheme and host and a
// default port don't matter.
func MethodURL(scheme, authority, fullMethod string) string {
	if !strings.HasPrefix(fullMethod, "/") {
		fullMethod = "/" + fullMethod
	}
	return scheme + "://" + authority + fullMethod
}

// BaseURL is the public URL of a service behind a proxy, under which its
// methods' htu are built instead of the scheme and authority the server
// sees. Make one with [ParseBaseURL].
type BaseURL struct {
	prefix string // scheme://host[:port][/path], no trailing slash
}

// ErrBaseURL: [ParseBaseURL] was given something other than an absolute
// http or https URL without user info, query or fragment.
var ErrBaseURL = errors.New("dpop: base URL must be an absolute http(s) URL without query or fragment")

// ParseBaseURL parses a public base URL such as "https://api.example.com"
// or "https://api.example.com/grpc" (a path prefix the proxy strips).
func ParseBaseURL(s string) (BaseURL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.Opaque != "" {
		return BaseURL{}, fmt.Errorf("%w: %q", ErrBaseURL, s)
	}
	norm, ok := normalizeURL(s)
	if !ok {
		return BaseURL{}, fmt.Errorf("%w: %q", ErrBaseURL, s)
	}
	return BaseURL{prefix: strings.TrimSuffix(norm, "/")}, nil
}

// MethodURL returns the htu of the full method "/package.Service/Method"
// under the base URL.
func (b BaseURL) MethodURL(fullMethod string) string {
	if !strings.HasPrefix(fullMethod, "/") {
		fullMethod = "/" + fullMethod
	}
	return b.prefix + fullMethod
}

// String returns the normalised base URL.
func (b BaseURL) String() string { return b.prefix }

// withoutQuery cuts a URL at its query or fragment: htu leaves them out
// (RFC 9449 §4.2).
func withoutQuery(s string) string {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	return s
}

// sameURL reports whether a proof's htu names the call's URL: equal
// without query and fragment after RFC 3986 §6.2.2 syntax-based
// normalisation (case of scheme and host, default ports, percent-encoding,
// dot segments).
func sameURL(htu, call string) bool {
	htu, call = withoutQuery(htu), withoutQuery(call)
	if htu == call && (strings.HasPrefix(call, "https://") || strings.HasPrefix(call, "http://")) {
		return true // the call's URL comes from the server, not the client
	}
	// htu may be part of a buffer of the caller's: a copy keeps it there.
	a, ok1 := normalizeURL(strings.Clone(htu))
	b, ok2 := normalizeURL(call)
	return ok1 && ok2 && a == b
}

// normalizeURL returns the normal form of an absolute http(s) URL without
// query and fragment, or false when it is not one.
func normalizeURL(s string) (string, bool) {
	u, err := url.Parse(withoutQuery(s))
	if err != nil || u.Opaque != "" || u.User != nil || u.Host == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	host := strings.ToLower(u.Host)
	switch {
	case scheme == "https" && strings.HasSuffix(host, ":443"):
		host = strings.TrimSuffix(host, ":443")
	case scheme == "http" && strings.HasSuffix(host, ":80"):
		host = strings.TrimSuffix(host, ":80")
	}
	host = strings.TrimSuffix(host, ":") // an empty port is the default one
	path, ok := normalizePercent(u.EscapedPath())
	if !ok {
		return "", false
	}
	path = removeDotSegments(path)
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, true
}

// normalizePercent upper-cases percent-encodings and decodes those of
// unreserved characters (RFC 3986 §6.2.2.1, §6.2.2.2).
func normalizePercent(p string) (string, bool) {
	if !strings.Contains(p, "%") {
		return p, true
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '%' {
			b.WriteByte(p[i])
			continue
		}
		if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
			return "", false
		}
		c := unhex(p[i+1])<<4 | unhex(p[i+2])
		if isUnreserved(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteString(strings.ToUpper(p[i+1 : i+3]))
		}
		i += 2
	}
	return b.String(), true
}

// removeDotSegments is RFC 3986 §5.2.4 for an absolute path.
func removeDotSegments(p string) string {
	if !strings.Contains(p, ".") {
		return p
	}
	segs := strings.Split(p, "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	r := strings.Join(out, "/")
	if !strings.HasPrefix(r, "/") {
		r = "/" + r
	}
	return r
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
