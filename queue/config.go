package queue

import (
	"errors"
	"fmt"
	"time"
)

// DestKind is where an overflowing call goes.
type DestKind string

const (
	DestNone     DestKind = ""         // no overflow: the call keeps waiting (max wait) / is refused busy (max length)
	DestQueue    DestKind = "queue"    // another queue, keeping its arrival time
	DestTarget   DestKind = "target"   // a department number or SIP URI, dialled by the engine
	DestMessage  DestKind = "message"  // a recorded message, then hang up
	DestCallback DestKind = "callback" // the caller keeps their place and is called back
)

// Destination is an overflow destination.
type Destination struct {
	Kind    DestKind `yaml:"kind"`
	Queue   string   `yaml:"queue,omitempty"`
	Target  string   `yaml:"target,omitempty"`  // SIP URI or number
	Message string   `yaml:"message,omitempty"` // prompt file
}

// Strategy names how a queue picks among eligible seats; acd implements them.
type Strategy string

const (
	LongestIdle Strategy = "longest_idle"
	FewestCalls Strategy = "fewest_calls"
	RoundRobin  Strategy = "round_robin"
	SkillLevel  Strategy = "skill_level" // highest level, then longest idle
	RingAll     Strategy = "ring_all"
)

// Step widens the seats a call may go to once it has waited After in the
// queue: MinLevel lowers the level required (0 keeps it), Skills adds skills
// (another queue's skill adds that queue's seats).
type Step struct {
	After    time.Duration `yaml:"after"`
	MinLevel int           `yaml:"min_level,omitempty"`
	Skills   []string      `yaml:"skills,omitempty"`
}

// Config is one queue.
type Config struct {
	Name          string        `yaml:"name"`
	Skill         string        `yaml:"skill"`
	MinLevel      int           `yaml:"min_level"`
	Strategy      Strategy      `yaml:"strategy"`
	Escalation    []Step        `yaml:"escalation,omitempty"`
	WrapUp        time.Duration `yaml:"wrap_up"`
	ServiceLevel  time.Duration `yaml:"service_level"`
	MaxWait       time.Duration `yaml:"max_wait,omitempty"`
	OnMaxWait     Destination   `yaml:"on_max_wait,omitempty"`
	MaxLength     int           `yaml:"max_length,omitempty"`
	OnFull        Destination   `yaml:"on_full,omitempty"`
	AnnounceEvery time.Duration `yaml:"announce_every,omitempty"`
	Callback      bool          `yaml:"callback,omitempty"` // callers may ask to be called back
	// CallbackExpiry: a kept callback place older than this (from when it
	// was kept) is given up; 0: never.
	CallbackExpiry time.Duration `yaml:"callback_expiry,omitempty"`
	DefaultHandle  time.Duration `yaml:"default_handle,omitempty"`
}

// Defaults of a queue's settings.
const (
	DefaultServiceLevel = 15 * time.Second
	DefaultHandleTime   = 3 * time.Minute
	DefaultMinLevel     = 1
)

// WithDefaults returns c with every unset setting at its default.
func (c Config) WithDefaults() Config {
	if c.Strategy == "" {
		c.Strategy = LongestIdle
	}
	if c.ServiceLevel == 0 {
		c.ServiceLevel = DefaultServiceLevel
	}
	if c.DefaultHandle == 0 {
		c.DefaultHandle = DefaultHandleTime
	}
	if c.MinLevel == 0 {
		c.MinLevel = DefaultMinLevel
	}
	if c.Skill == "" {
		c.Skill = c.Name
	}
	return c
}

// ErrConfig wraps every configuration problem.
var ErrConfig = errors.New("queue: bad config")

// Validate checks one queue (after WithDefaults) and returns every problem.
func (c Config) Validate() []error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: queue %q: %s", ErrConfig, c.Name, fmt.Sprintf(format, a...)))
	}
	if c.Name == "" {
		bad("name is required")
	}
	switch c.Strategy {
	case LongestIdle, FewestCalls, RoundRobin, SkillLevel, RingAll:
	default:
		bad("unknown strategy %q", c.Strategy)
	}
	if c.MinLevel < 1 || c.MinLevel > 10 {
		bad("min_level %d is not in 1..10", c.MinLevel)
	}
	if c.WrapUp < 0 || c.ServiceLevel < 0 || c.MaxWait < 0 || c.AnnounceEvery < 0 || c.MaxLength < 0 || c.CallbackExpiry < 0 {
		bad("durations and max_length must not be negative")
	}
	var last time.Duration
	for i, s := range c.Escalation {
		if s.After <= last {
			bad("escalation step %d: after %s must grow", i+1, s.After)
		}
		if s.MinLevel < 0 || s.MinLevel > 10 {
			bad("escalation step %d: min_level %d is not in 0..10", i+1, s.MinLevel)
		}
		last = s.After
	}
	errs = append(errs, c.checkDest("on_max_wait", c.OnMaxWait)...)
	errs = append(errs, c.checkDest("on_full", c.OnFull)...)
	if c.OnFull.Kind == DestCallback && !c.Callback {
		bad("on_full is callback but callback is off")
	}
	if c.OnMaxWait.Kind == DestCallback && !c.Callback {
		bad("on_max_wait is callback but callback is off")
	}
	return errs
}

func (c Config) checkDest(field string, d Destination) []error {
	bad := func(msg string) []error {
		return []error{fmt.Errorf("%w: queue %q: %s: %s", ErrConfig, c.Name, field, msg)}
	}
	switch d.Kind {
	case DestNone, DestCallback:
	case DestQueue:
		if d.Queue == "" || d.Queue == c.Name {
			return bad("queue destination needs another queue's name")
		}
	case DestTarget:
		if d.Target == "" {
			return bad("target destination needs a target")
		}
	case DestMessage:
		if d.Message == "" {
			return bad("message destination needs a message")
		}
	default:
		return bad(fmt.Sprintf("unknown destination kind %q", d.Kind))
	}
	return nil
}

// ValidateAll checks a set of queues: each one, unique names, queue
// destinations that exist, and no overflow cycle between queues.
func ValidateAll(qs []Config) []error {
	var errs []error
	byName := make(map[string]Config, len(qs))
	for _, q := range qs {
		errs = append(errs, q.Validate()...)
		if _, dup := byName[q.Name]; dup {
			errs = append(errs, fmt.Errorf("%w: queue %q defined twice", ErrConfig, q.Name))
		}
		byName[q.Name] = q
	}
	for _, q := range qs {
		for _, d := range []Destination{q.OnFull, q.OnMaxWait} {
			if _, ok := byName[d.Queue]; d.Kind == DestQueue && !ok {
				errs = append(errs, fmt.Errorf("%w: queue %q overflows to unknown queue %q", ErrConfig, q.Name, d.Queue))
			}
		}
		if cycles(q.Name, byName, map[string]bool{}) {
			errs = append(errs, fmt.Errorf("%w: queue %q: overflow destinations loop back to it", ErrConfig, q.Name))
		}
	}
	return errs
}

// cycles reports whether following queue destinations from name revisits a
// queue on the current path.
func cycles(name string, byName map[string]Config, path map[string]bool) bool {
	if path[name] {
		return true
	}
	q, ok := byName[name]
	if !ok {
		return false
	}
	path[name] = true
	defer delete(path, name)
	for _, d := range []Destination{q.OnFull, q.OnMaxWait} {
		if d.Kind == DestQueue && cycles(d.Queue, byName, path) {
			return true
		}
	}
	return false
}
