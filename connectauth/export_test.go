package connectauth

// WithClock sets the clock of stream checks, for tests of tokens that
// expire while a stream is open.
var WithClock = withClock
