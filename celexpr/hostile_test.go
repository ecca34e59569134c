package celexpr_test

import "strings"

// messageLimit is the largest message gRPC servers receive by default, and
// the size of the hostile inputs of the transport tests: 4 MiB.
const messageLimit = 4 << 20

// hostileText is n bytes of a text that every pattern of hostilePattern
// matches at each position.
func hostileText(n int) string { return strings.Repeat("a", n) }

// hostilePattern is a pattern of about n bytes whose program has an
// instruction for each of its bytes: matched against hostileText, a
// regular expression engine does work proportional to the product of the
// two sizes.
func hostilePattern(n int) string { return strings.Repeat("a?", n/2) }
