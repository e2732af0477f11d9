package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/filelinks/filelinks/internal/randid"
)

// keyFile is where a generated test key is kept, in the data directory.
const keyFile = "api_key"

// ensureKeys returns the configured keys, or the test key kept in the data
// directory, generating and saving one on first start. generated reports
// whether the key was made now.
func ensureKeys(configured []string, dataDir string) (keys []string, generated bool, err error) {
	if len(configured) > 0 {
		return configured, false, nil
	}
	path := dataDir + string(os.PathSeparator) + keyFile
	b, err := os.ReadFile(path)
	if err == nil {
		if k := strings.TrimSpace(string(b)); k != "" {
			return []string{k}, false, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("service: read %s: %w", path, err)
	}
	k := "sk_test_" + randid.New("")
	if err := os.WriteFile(path, []byte(k+"\n"), 0o600); err != nil {
		return nil, false, fmt.Errorf("service: save generated key: %w", err)
	}
	return []string{k}, true, nil
}
