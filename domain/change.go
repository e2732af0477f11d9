package domain

import "github.com/filelinks/filelinks/events"

// Change is what a command did to a link: the state it was decided on and
// the events it appended after it, none when it changed nothing. The event
// log returns it from a command's append, so the caller learns what
// happened without a closure that hands results out.
type Change struct {
	Before Link
	Events []events.Event
}

// After returns the link's state after the change: the snapshot of its last
// event, or Before when it has none.
func (c Change) After() Link {
	if len(c.Events) == 0 {
		return c.Before
	}
	return FromState(c.Events[len(c.Events)-1].Link)
}
