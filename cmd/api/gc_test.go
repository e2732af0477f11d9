package main

import (
	"testing"

	"github.com/filelinks/filelinks/internal/config"
)

// TestGCPercent: the process raises GOGC only when it runs the embedded
// NATS server and the operator set no GOGC of their own.
func TestGCPercent(t *testing.T) {
	env := func(kv map[string]string) func(string) string {
		return func(k string) string { return kv[k] }
	}
	for _, c := range []struct {
		name string
		cfg  config.Config
		env  map[string]string
		pct  int
		ok   bool
	}{
		{"embedded", config.Config{}, nil, embeddedGOGC, true},
		{"embedded, GOGC set", config.Config{}, map[string]string{"GOGC": "50"}, 0, false},
		{"embedded, GOGC off", config.Config{}, map[string]string{"GOGC": "off"}, 0, false},
		{"external NATS", config.Config{NATSURL: "nats://n1:4222"}, nil, 0, false},
	} {
		pct, ok := gcPercent(c.cfg, env(c.env))
		if pct != c.pct || ok != c.ok {
			t.Errorf("%s: gcPercent = %d, %v; want %d, %v", c.name, pct, ok, c.pct, c.ok)
		}
	}
}
