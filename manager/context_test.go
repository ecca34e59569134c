package manager

import (
	"context"
	"testing"
)

func TestContext(t *testing.T) {
	tok := &Token{Type: Auth, Subject: "alice"}
	tests := []struct {
		name   string
		ctx    context.Context
		want   *Token
		wantOK bool
	}{
		{"token stored", NewContext(context.Background(), tok), tok, true},
		{"no token", context.Background(), nil, false},
		{"nil token stored", NewContext(context.Background(), nil), nil, false},
		{"inner token wins", NewContext(NewContext(context.Background(), &Token{}), tok), tok, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := FromContext(tt.ctx)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("FromContext() = %v, %v; want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
