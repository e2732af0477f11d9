package config

import "testing"

func TestExpirerMode(t *testing.T) {
	load := func(v string) (Config, error) {
		return Load(func(k string) string {
			if k == "FILELINKS_EXPIRER" {
				return v
			}
			return ""
		})
	}
	for _, c := range []struct{ in, want string }{
		{"", ExpirerWorker}, {"true", ExpirerWorker}, {"1", ExpirerWorker}, {" TRUE ", ExpirerWorker},
		{"false", ExpirerOff}, {"0", ExpirerOff},
	} {
		if cfg, err := load(c.in); err != nil || cfg.Expirer != c.want {
			t.Errorf("FILELINKS_EXPIRER=%q: %q, %v; want %q", c.in, cfg.Expirer, err, c.want)
		}
	}
	for _, bad := range []string{"yes", "readmodel", "ReadModel", "read-model", "worker2"} {
		if _, err := load(bad); err == nil {
			t.Errorf("FILELINKS_EXPIRER=%q accepted", bad)
		}
	}
}
