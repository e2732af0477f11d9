// Package config reads the service's settings from the environment. It is
// the only place below cmd/ that knows the variable names, and it reads them
// through a getenv function so tests never touch the process environment.
package config

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Config holds every setting. Each field's comment names its variable and
// default.
type Config struct {
	HTTPAddr   string // FILELINKS_HTTP_ADDR, default ":8080"
	DataDir    string // FILELINKS_DATA_DIR, default "./data"
	NATSURL    string // FILELINKS_NATS_URL, default "" (start an embedded server)
	NATSListen string // FILELINKS_NATS_LISTEN, default "127.0.0.1:4222" (embedded server only)
	// NATSCreds is a credentials file for FILELINKS_NATS_URL
	// (FILELINKS_NATS_CREDS, default none).
	NATSCreds string
	// APIKeys are the accepted secret keys (FILELINKS_API_KEYS, comma
	// separated). Empty: a test key is generated on first start and kept in
	// the data directory.
	APIKeys []string
	// PublicURL is the base of link URLs (FILELINKS_PUBLIC_URL, default
	// "http://localhost:8080").
	PublicURL string
	// Replicas is the replica count of the streams and buckets
	// (FILELINKS_REPLICAS, default 1; use 3 on a cluster).
	Replicas int
	// MaxUploadBytes caps an uploaded file (FILELINKS_MAX_UPLOAD_BYTES,
	// default 100 MiB).
	MaxUploadBytes int64
	// CacheBytes bounds the local copies of downloaded files that this
	// replica keeps in DataDir/cache to serve public links from disk
	// (FILELINKS_CACHE_BYTES, default 1 GiB; 0 turns the cache off).
	CacheBytes int64
	// ShutdownTimeout bounds the graceful stop (FILELINKS_SHUTDOWN_TIMEOUT,
	// default 20s).
	ShutdownTimeout time.Duration
	// SyncAlways makes the embedded server fsync every write
	// (FILELINKS_NATS_SYNC_ALWAYS, default false).
	SyncAlways bool
	// LinkRate and LinkBurst limit requests to public link URLs per client
	// IP (FILELINKS_LINK_RATE, requests per second, default 10;
	// FILELINKS_LINK_BURST, default 40).
	LinkRate  float64
	LinkBurst int
	// TrustedProxies are the proxies allowed to name the client IP in
	// X-Forwarded-For (FILELINKS_TRUSTED_PROXIES, comma-separated IPs or
	// CIDRs; default none).
	TrustedProxies []string
	// LogLevel is debug, info, warn or error (FILELINKS_LOG_LEVEL, default info).
	LogLevel string
	// ExpirerName names the expirer's durable consumer
	// (FILELINKS_EXPIRER_NAME, default "expirer"). Expirers that run at
	// the same time need different names, and each its own data directory.
	ExpirerName string
	// Expirer says what expires links in cmd/api (FILELINKS_EXPIRER):
	// ExpirerWorker, the default, runs the worker of cmd/expirer
	// in-process (a Watermill consumer into its own schedule); ExpirerOff
	// leaves expiry to a cmd/expirer running elsewhere.
	Expirer string
	// DebugAddr, when set, serves net/http/pprof there
	// (FILELINKS_DEBUG_ADDR, default none). Keep it on a private address.
	DebugAddr string
}

// The values of Config.Expirer.
const (
	ExpirerWorker = "worker"
	ExpirerOff    = "off"
)

// expirerMode reads FILELINKS_EXPIRER: empty or a true boolean is
// ExpirerWorker, a false one ExpirerOff.
func expirerMode(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return ExpirerWorker, nil
	}
	run, err := strconv.ParseBool(v)
	switch {
	case err != nil:
		return "", fmt.Errorf("config: FILELINKS_EXPIRER: %q: want true or false", v)
	case run:
		return ExpirerWorker, nil
	}
	return ExpirerOff, nil
}

// Embedded reports whether the service runs its own NATS server.
func (c Config) Embedded() bool { return c.NATSURL == "" }

// Path returns a path inside the data directory.
func (c Config) Path(elem ...string) string {
	return filepath.Join(append([]string{c.DataDir}, elem...)...)
}

// Main runs a command: it calls run with the process's arguments,
// environment and standard streams, and a context that ends at SIGINT or
// SIGTERM, and exits 1 with run's error, prefixed by the command's name.
// Tests call run directly, with an environment of their own.
func Main(name string, run func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// LoadWorker is Load for a process that works on the event stream of a
// running NATS server or cluster (cmd/expirer, cmd/projector): it refuses
// a configuration without FILELINKS_NATS_URL, saying what the process
// needs the server for, and creates the data directory.
func LoadWorker(getenv func(string) string, needs string) (Config, error) {
	c, err := Load(getenv)
	if err != nil {
		return c, err
	}
	if c.Embedded() {
		return c, fmt.Errorf("set FILELINKS_NATS_URL to the NATS server or cluster %s", needs)
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return c, fmt.Errorf("data directory: %w", err)
	}
	return c, nil
}

// Logger returns the logger the configuration asks for: text lines on w,
// from FILELINKS_LOG_LEVEL up.
func (c Config) Logger(w io.Writer) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(c.LogLevel)) // checked by Load
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// Load reads the configuration through getenv and checks it.
func Load(getenv func(string) string) (Config, error) {
	c := Config{
		HTTPAddr:    or(getenv("FILELINKS_HTTP_ADDR"), ":8080"),
		DataDir:     or(getenv("FILELINKS_DATA_DIR"), "./data"),
		NATSURL:     strings.TrimSpace(getenv("FILELINKS_NATS_URL")),
		NATSListen:  or(getenv("FILELINKS_NATS_LISTEN"), "127.0.0.1:4222"),
		NATSCreds:   getenv("FILELINKS_NATS_CREDS"),
		PublicURL:   strings.TrimRight(or(getenv("FILELINKS_PUBLIC_URL"), "http://localhost:8080"), "/"),
		LogLevel:    or(getenv("FILELINKS_LOG_LEVEL"), "info"),
		ExpirerName: or(getenv("FILELINKS_EXPIRER_NAME"), "expirer"),
		DebugAddr:   strings.TrimSpace(getenv("FILELINKS_DEBUG_ADDR")),
	}
	for _, k := range strings.Split(getenv("FILELINKS_API_KEYS"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			c.APIKeys = append(c.APIKeys, k)
		}
	}
	for _, p := range strings.Split(getenv("FILELINKS_TRUSTED_PROXIES"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			c.TrustedProxies = append(c.TrustedProxies, p)
		}
	}
	var err error
	if c.LinkBurst, err = intVar(getenv, "FILELINKS_LINK_BURST", 40); err != nil {
		return Config{}, err
	}
	c.LinkRate = 10
	if v := strings.TrimSpace(getenv("FILELINKS_LINK_RATE")); v != "" {
		if c.LinkRate, err = strconv.ParseFloat(v, 64); err != nil || c.LinkRate <= 0 {
			return Config{}, fmt.Errorf("config: FILELINKS_LINK_RATE must be a positive number")
		}
	}
	if c.LinkBurst < 1 {
		return Config{}, fmt.Errorf("config: FILELINKS_LINK_BURST must be at least 1")
	}
	if c.Replicas, err = intVar(getenv, "FILELINKS_REPLICAS", 1); err != nil {
		return Config{}, err
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		return Config{}, fmt.Errorf("config: FILELINKS_REPLICAS must be 1 to 5, got %d", c.Replicas)
	}
	maxUpload, err := intVar(getenv, "FILELINKS_MAX_UPLOAD_BYTES", 100<<20)
	if err != nil {
		return Config{}, err
	}
	if maxUpload < 1 {
		return Config{}, fmt.Errorf("config: FILELINKS_MAX_UPLOAD_BYTES must be positive")
	}
	c.MaxUploadBytes = int64(maxUpload)
	cacheBytes, err := intVar(getenv, "FILELINKS_CACHE_BYTES", 1<<30)
	if err != nil {
		return Config{}, err
	}
	if cacheBytes < 0 {
		return Config{}, fmt.Errorf("config: FILELINKS_CACHE_BYTES must be 0 (off) or positive")
	}
	c.CacheBytes = int64(cacheBytes)
	if c.ShutdownTimeout, err = durationVar(getenv, "FILELINKS_SHUTDOWN_TIMEOUT", 20*time.Second); err != nil {
		return Config{}, err
	}
	if c.Expirer, err = expirerMode(getenv("FILELINKS_EXPIRER")); err != nil {
		return Config{}, err
	}
	if v := getenv("FILELINKS_NATS_SYNC_ALWAYS"); v != "" {
		if c.SyncAlways, err = strconv.ParseBool(v); err != nil {
			return Config{}, fmt.Errorf("config: FILELINKS_NATS_SYNC_ALWAYS: %w", err)
		}
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Config{}, fmt.Errorf("config: FILELINKS_PUBLIC_URL must be an absolute http(s) URL, got %q", c.PublicURL)
	}
	for _, k := range c.APIKeys {
		if !strings.HasPrefix(k, "sk_test_") && !strings.HasPrefix(k, "sk_live_") || len(k) < 16 {
			return Config{}, fmt.Errorf("config: FILELINKS_API_KEYS: each key must start with sk_test_ or sk_live_ and have at least 16 characters")
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return Config{}, fmt.Errorf("config: FILELINKS_LOG_LEVEL must be debug, info, warn or error")
	}
	return c, nil
}

func or(v, def string) string {
	if v = strings.TrimSpace(v); v == "" {
		return def
	}
	return v
}

func intVar(getenv func(string) string, name string, def int) (int, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("config: %s: %w", name, err)
	}
	return n, nil
}

func durationVar(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("config: %s: %w", name, err)
	}
	return d, nil
}
