package expirer

import (
	"context"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill"
)

// wmLogger adapts slog for Watermill. Watermill's Info lines (router and
// subscriber starting and stopping) are debug detail here, and its Trace
// lines, several per message, are dropped before their fields are turned
// into slog attributes: building them was a tenth of the feed's CPU.
type wmLogger struct {
	log   *slog.Logger
	inner watermill.LoggerAdapter
}

func newWMLogger(log *slog.Logger) wmLogger {
	return wmLogger{log: log, inner: watermill.NewSlogLoggerWithLevelMapping(log, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})}
}

func (w wmLogger) Error(msg string, err error, fields watermill.LogFields) {
	w.inner.Error(msg, err, fields)
}

func (w wmLogger) Info(msg string, fields watermill.LogFields) {
	if w.log.Enabled(context.Background(), slog.LevelDebug) {
		w.inner.Info(msg, fields)
	}
}

func (w wmLogger) Debug(msg string, fields watermill.LogFields) {
	if w.log.Enabled(context.Background(), slog.LevelDebug) {
		w.inner.Debug(msg, fields)
	}
}

func (w wmLogger) Trace(string, watermill.LogFields) {}

func (w wmLogger) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return wmLogger{log: w.log, inner: w.inner.With(fields)}
}
