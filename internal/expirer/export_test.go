package expirer

// LateDecodes returns how many messages the handler of e had to decode
// itself because the unmarshaler left nothing for them.
func LateDecodes(e *Expirer) uint64 { return e.feed.lateDecodes.Load() }
