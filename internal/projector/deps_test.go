package projector

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports holds the package to what doc.go promises: it declares what
// it needs of the log and the read model, and imports no adapter, only
// the standard library and the event contract.
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg != "github.com/filelinks/filelinks/events" && strings.Contains(strings.SplitN(pkg, "/", 2)[0], ".") {
			t.Errorf("internal/projector imports %s", pkg)
		}
	}
}
