package manager

// MaxTokenSize returns the largest token, in bytes, that Verify decodes
// ([WithMaxTokenSize]): the adapters refuse a larger bearer value by its
// length, before reading it.
func (m *Manager) MaxTokenSize() int { return m.verifier.maxTokenSize }

// MaxTokenSize returns the largest token, in bytes, that Verify decodes:
// the largest bound of the Managers.
func (is *Issuers) MaxTokenSize() int { return is.maxSize }
