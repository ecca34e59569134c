package manager

import (
	"math"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestValidatorTime checks that validatorTime converts a NumericDate as
// golang-jwt's validator does (seconds and fraction, truncated to
// jwt.TimePrecision) for whole and fractional numbers of seconds and for
// precisions that do and do not divide a second, those its shortcut for
// whole seconds takes and those it leaves to the full conversion.
func TestValidatorTime(t *testing.T) {
	saved := jwt.TimePrecision
	t.Cleanup(func() { jwt.TimePrecision = saved })
	values := []float64{
		0, 1, 59, 61, 1765000000, 1765000037, maxNumericDate, 1765000000.5, 1765000000.999999999,
		0.25, -1, -61.5, math.Copysign(0, -1), 1e19, -1e19, math.Inf(1), math.Inf(-1), math.NaN(),
	}
	precisions := []time.Duration{
		time.Second, 0, -time.Second, time.Nanosecond, 7 * time.Nanosecond, time.Millisecond,
		250 * time.Millisecond, 300 * time.Millisecond, 3 * time.Second, time.Minute, time.Hour,
	}
	for _, d := range precisions {
		jwt.TimePrecision = d
		for _, f := range values {
			sec, frac := math.Modf(f)
			want := time.Unix(int64(sec), int64(frac*1e9)).Truncate(d)
			if got := validatorTime(f); got != want {
				t.Errorf("precision %v, %v: validatorTime = %v, want %v", d, f, got, want)
			}
		}
		if got, want := validatorTime("1765000000"), time.Unix(0, 0).Truncate(d); got != want {
			t.Errorf("precision %v, a string: validatorTime = %v, want %v", d, got, want)
		}
	}
}
