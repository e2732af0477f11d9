package domain

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps: the domain imports only the standard library and the event
// contract, so that its rules never depend on an adapter.
func TestDeps(t *testing.T) {
	// go test puts its own go command first in PATH.
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch dep {
		case "github.com/filelinks/filelinks/domain", "github.com/filelinks/filelinks/events":
		default:
			t.Errorf("domain depends on %s, outside the standard library and events", dep)
		}
	}
}
