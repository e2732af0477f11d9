package events

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps: the contract imports only the standard library, so that any
// subscriber can take it without taking this service's dependencies.
func TestDeps(t *testing.T) {
	// go test puts its own go command first in PATH.
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep != "github.com/filelinks/filelinks/events" {
			t.Errorf("events depends on %s, outside the standard library", dep)
		}
	}
}
