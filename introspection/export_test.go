package introspection

// CacheStats returns the number of answers in's cache holds and their
// estimated bytes.
func CacheStats(in *Introspector) (int, int64) { return in.cache.stats() }
