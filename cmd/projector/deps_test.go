package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps the standalone projector lean: it links the event log and
// the read model, never the HTTP API (Gin) or the expirer (Watermill).
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/gin-gonic/", "github.com/ThreeDotsLabs/watermill"} {
			if strings.HasPrefix(pkg, banned) {
				t.Errorf("cmd/projector links %s", pkg)
			}
		}
	}
}
