package app

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/internal/safetext"
)

// Durations in logs are seconds. zerolog keeps this in a global, so it is set once,
// before any logger runs (tests run several hoists in one process).
func init() { zerolog.DurationFieldUnit = time.Second }

// NewLogger builds the root logger: JSON, or console when writing to a terminal. What
// engines, registries and containers say (names, reasons, log tails) is logged as it
// came, so the output escapes control and bidi characters (internal/safetext): JSON
// writes them \uXXXX (what a line decodes to is unchanged), the console as visible
// escapes.
func NewLogger(cfg config.Log, w io.Writer) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(cfg.Level)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	var out io.Writer = safetext.JSONWriter{W: w}
	console := cfg.Format == "console"
	if cfg.Format == "auto" {
		if f, ok := w.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				console = true
			}
		}
	}
	if console {
		out = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly, FormatPrepare: escapeFields, FormatFieldValue: escapeValue}
	}
	return zerolog.New(out).Level(lvl).With().Timestamp().Logger()
}

// escapeFields readies a console log line: the message and the field names are
// printed as they are, so they are escaped here (string values are quoted by the
// console writer itself, which escapes them; escapeValue takes the others).
func escapeFields(evt map[string]any) error {
	for k, v := range evt {
		if m, ok := v.(string); ok && k == zerolog.MessageFieldName {
			evt[k] = safetext.Line(m)
		}
		if safe := safetext.Line(k); safe != k {
			delete(evt, k)
			evt[safe] = v
		}
	}
	return nil
}

// escapeValue prints a console field's value (a quoted string, a number, or the JSON
// of a list or an object, which may hold bidi characters raw).
func escapeValue(v any) string { return safetext.Line(fmt.Sprintf("%s", v)) }
