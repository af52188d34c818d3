package config

import (
	"fmt"
	"strings"
)

// Override is a value given on the command line in place of a key of the file
// (hoist serve --poll-interval 30s for poll.interval). [Config.Apply] checks it as the
// file's key is checked, with the same message.
type Override struct {
	Flag  string // the flag as written: --poll-interval
	Key   string // the key it replaces: poll.interval
	Value string
}

// FlagProblem is a flag value refused, with the message the file's key would get.
type FlagProblem struct {
	Flag, Value string
	Msg         string
}

func (p FlagProblem) String() string { return p.Flag + ": " + p.Msg }

// FlagProblems is every flag value refused; it is the error Apply returns.
type FlagProblems []FlagProblem

func (ps FlagProblems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// overridable are the keys a flag may set, and how each takes its text.
var overridable = map[string]func(c *Config, v string) error{
	"listen":        func(c *Config, v string) error { c.Listen = v; return nil },
	"data_dir":      func(c *Config, v string) error { c.DataDir = v; return nil },
	"docker.host":   func(c *Config, v string) error { c.Docker.Host = v; return nil },
	"log.level":     func(c *Config, v string) error { c.Log.Level = v; return nil },
	"log.format":    func(c *Config, v string) error { c.Log.Format = v; return nil },
	"poll.interval": func(c *Config, v string) error { return c.Poll.Interval.UnmarshalYAML([]byte(v)) },
}

// Apply sets each override's key and checks c again as [Load] does. A value the file
// would be refused for is refused, with the same message; the error is FlagProblems,
// and c is then partly changed (do not use it). Apply on a key no flag may set panics
// (a mistake in the program, not in its input).
func (c *Config) Apply(overrides []Override) error {
	var probs FlagProblems
	for _, o := range overrides {
		set, ok := overridable[o.Key]
		if !ok {
			panic(fmt.Sprintf("config: no flag may set %q", o.Key))
		}
		if err := set(c, o.Value); err != nil {
			probs = append(probs, FlagProblem{Flag: o.Flag, Value: o.Value, Msg: err.Error()})
		}
	}
	if len(probs) > 0 {
		return probs
	}
	v := &validator{}
	c.validate(v)
	for _, o := range overrides {
		for _, p := range v.problems {
			if within(p.path, "$."+o.Key) {
				probs = append(probs, FlagProblem{Flag: o.Flag, Value: o.Value, Msg: p.msg})
			}
		}
	}
	if len(probs) > 0 {
		return probs
	}
	return nil
}
