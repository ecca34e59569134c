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
// The seam is a type, not a registration: manager.Token embeds a [Slot]
// under an unexported name, which gives it Slot's unexported method, and
// [Of] finds that method. Only packages that import this one (manager, the
// rule engine) can fill or read a Slot; the method, like every name of a
// Slot, is unexported, so nothing of it shows on the Token.
package tokenview

import "reflect"

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

// Slot holds the View of a token. A token type embeds it under an
// unexported alias (type viewSlot = tokenview.Slot), so that the embedded
// field is unexported too. Its zero value holds no View.
//
// It has no exported field or method on purpose: embedded, they would be
// promoted to the token, where any handler could reach them.
type Slot struct {
	view *View
}

// tokenView returns the View s holds, nil when none.
func (s *Slot) tokenView() *View { return s.view }

// Fill makes s hold v. Package manager calls it once, when it builds a
// token, before the token is shared.
func Fill(s *Slot, v *View) { s.view = v }

// viewer is a token that embeds a Slot.
type viewer interface {
	tokenView() *View
}

// Of returns the View of tok, a *manager.Token, or nil when tok has none:
// a Token not built by a Manager (a test double, a Token literal), or a
// value of another type, or nil. Callers then read the Token's exported
// fields.
func Of(tok any) *View {
	v, ok := tok.(viewer)
	if !ok {
		return nil
	}
	// The method promoted from an embedded Slot reads through the token:
	// a nil *manager.Token has no View.
	if rv := reflect.ValueOf(tok); rv.Kind() == reflect.Pointer && rv.IsNil() {
		return nil
	}
	return v.tokenView()
}
