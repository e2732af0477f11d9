package expirer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
)

// Config says where the expirer keeps its state and how hard it works. The
// zero value, with SchedulePath set, is ready to use.
type Config struct {
	// SchedulePath is the expirer's own bbolt file. Required. Exactly one
	// expirer may use it; deleting it makes the next start rebuild the
	// schedule from the whole stream.
	SchedulePath string
	// Name is the durable consumer's name, unique per expirer: several
	// expirers run side by side with different names and files. Letters,
	// digits, '_' and '-'. Default "expirer".
	Name string
	// Stream is the event stream. Default "FILELINKS_EVENTS".
	Stream string
	// PoisonStream is the stream that keeps messages the expirer could not
	// handle, on PoisonSubjects; it is created when missing. Default
	// "FILELINKS_POISON".
	PoisonStream string
	// Replicas of the poison stream. Default 1.
	Replicas int
	// Workers bounds the Expire calls in flight. Default 32: each is two
	// NATS round trips (load, append), so the round trips, not the CPU,
	// bound one worker.
	Workers int
	// Recheck is the longest the timer sleeps without reading the clock
	// again, so that a clock set forward is noticed. Default 1s.
	Recheck time.Duration
	// FlushInterval and FlushSize bound how long and how many stream events
	// wait before they are committed to the schedule together. Defaults
	// 50ms, 1000.
	FlushInterval time.Duration
	FlushSize     int
	// SummaryInterval is how often a summary line is logged when anything
	// changed. Default 10s; negative turns it off.
	SummaryInterval time.Duration
	// NoSync skips the schedule file's fsync (see
	// schedule.Options.NoSync). Default false.
	NoSync bool
}

// PoisonSubjects are the subjects of the poison stream. The expirer
// publishes to PoisonSubjectPrefix + "." + its name.
const (
	PoisonSubjectPrefix = "filelinks.poison.expirer"
	PoisonSubjects      = "filelinks.poison.>"
)

// Audit is the audit record of every event the expirer appends.
var Audit = events.Audit{Actor: "expirer"}

func (c *Config) setDefaults() error {
	if c.SchedulePath == "" {
		return errors.New("expirer: SchedulePath is required")
	}
	if c.Name == "" {
		c.Name = "expirer"
	}
	if !domain.ValidID(c.Name) {
		return fmt.Errorf("expirer: name %q: use letters, digits, '_' and '-'", c.Name)
	}
	if c.Stream == "" {
		c.Stream = "FILELINKS_EVENTS"
	}
	if c.PoisonStream == "" {
		c.PoisonStream = "FILELINKS_POISON"
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.Workers <= 0 {
		c.Workers = 32
	}
	if c.Recheck <= 0 {
		c.Recheck = time.Second
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = 50 * time.Millisecond
	}
	if c.FlushSize <= 0 {
		c.FlushSize = 1000
	}
	if c.SummaryInterval == 0 {
		c.SummaryInterval = 10 * time.Second
	}
	return nil
}

// Links is the use case the expirer runs when a deadline comes
// (app.Links.Expire): load the link, decide with domain.ExpireLink, append
// with an optimistic check. It reports whether an event was appended.
type Links interface {
	Expire(ctx context.Context, mode events.Mode, id string, deadline time.Time, audit events.Audit) (bool, error)
}

// Deps are what the expirer runs on.
type Deps struct {
	// Conn is the process's NATS connection. The expirer manages its
	// consumer and the poison stream through it and never closes it; the
	// Watermill subscriber gets a connection of its own with the same
	// options, because closing that subscriber drains its connection.
	Conn *nats.Conn
	// Links appends LinkExpired.
	Links Links
	// Now is the clock; the same one Links decides with. Default time.Now.
	Now func() time.Time
	// Logger. Default slog.Default().
	Logger *slog.Logger
}
