package decide

import (
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/protojwt/protojwt/manager"
)

// Check returns the problems of what a Decider is built from, as the
// adapters' constructors report them: a nil verifier (nil, or a nil
// pointer, map or func in the interface) and a negative stream recheck
// interval, which the WithStreamRecheck option set.
func Check(v manager.Verifier, recheck time.Duration) []error {
	var errs []error
	if IsNil(v) {
		errs = append(errs, errors.New("nil verifier"))
	}
	if recheck < 0 {
		errs = append(errs, fmt.Errorf("WithStreamRecheck: negative interval %v", recheck))
	}
	return errs
}

// IsNil reports whether v is nil, or a nil pointer, map, func, slice or
// interface in an interface: a verifier that would panic on first use.
func IsNil(v manager.Verifier) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Func, reflect.Interface, reflect.Slice:
		return rv.IsNil()
	}
	return false
}
