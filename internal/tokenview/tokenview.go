// Package tokenview gives the rule engine a private, read-only view of a
// verified token: what the Manager decoded, in memory no handler can
// reach. A handler gets the *manager.Token itself and may modify its
// Claims (a cached Token is shared by every call that presents the same
// token); decisions read the View, so they never depend on what a handler
// did.
//
//	if v := tokenview.Of(tok); v != nil {
//		claims = v.Claims // the Manager's private copy
//	} else {
//		claims = tok.Claims // a Token not built by a Manager: a test double
//	}
//
// Package manager registers the accessor in its init, since this package
// can't import it.
package tokenview

// View is the decoded content of a verified token, as its Manager decoded
// it: never modified after it is built, and shared by every caller.
// Readers must not modify it either.
type View struct {
	// Type is the token's type, as Token.Type ("auth" or "refresh").
	Type string
	// Issuer is the "iss" claim.
	Issuer string
	// Subject is the "sub" claim.
	Subject string
	// Claims holds every claim, decoded as Token.Claims documents.
	Claims map[string]any
	// Scope is the "scope" claim of Claims, nil when absent.
	Scope any
	// Grants are the values of the claims whose names grant OAuth scopes
	// (the Manager's Config.ScopeClaims), in that order, those present.
	Grants []any
}

// of returns the View of a token; set once, by package manager's init.
var of func(tok any) *View

// Register sets the function Of calls. Package manager calls it from its
// init, before any token exists; nothing else may.
func Register(f func(tok any) *View) {
	of = f
}

// Of returns the View of tok, a *manager.Token, or nil when tok has none:
// a Token not built by a Manager (a test double, a Token literal) or nil.
// Callers then read the Token's exported fields.
func Of(tok any) *View {
	if of == nil || tok == nil {
		return nil
	}
	return of(tok)
}
