package acd

import (
	"fmt"
	"time"

	"github.com/hotline-cc/hotline/queue"
)

// Config is the ACD's part of a centre's configuration.
type Config struct {
	Features FeatureCodes `yaml:"feature_codes"`
	// MaxMisses unanswered offers in a row set a seat not ready ("missed").
	MaxMisses int `yaml:"max_misses"`
	// RetryTried: a seat that missed a call is not offered the same call
	// again before this has passed.
	RetryTried time.Duration `yaml:"retry_tried"`
	// StaleOffer: a seat ringing longer than this (its node is gone) is
	// freed by Tick. Keep it well above the seat ring timeout.
	StaleOffer time.Duration `yaml:"stale_offer"`
	// CallbackLead: a seat whose wrap-up ends within this may take a
	// callback (the caller is dialled while the seat finishes).
	CallbackLead time.Duration `yaml:"callback_lead"`
	// AutoLogin: a logged-out seat is logged in when its phone registers.
	AutoLogin bool           `yaml:"auto_login"`
	Queues    []queue.Config `yaml:"queues"`
}

// Defaults of the ACD's settings.
const (
	DefaultMaxMisses    = 3
	DefaultRetryTried   = 10 * time.Second
	DefaultStaleOffer   = 2 * time.Minute
	DefaultCallbackLead = 10 * time.Second
)

// WithDefaults returns c with every unset setting, and each queue's, at its
// default.
func (c Config) WithDefaults() Config {
	if c.Features.Login == "" && c.Features.Logout == "" && c.Features.Ready == "" && c.Features.NotReady == "" {
		c.Features = DefaultFeatureCodes()
	}
	if c.MaxMisses == 0 {
		c.MaxMisses = DefaultMaxMisses
	}
	if c.RetryTried == 0 {
		c.RetryTried = DefaultRetryTried
	}
	if c.StaleOffer == 0 {
		c.StaleOffer = DefaultStaleOffer
	}
	if c.CallbackLead == 0 {
		c.CallbackLead = DefaultCallbackLead
	}
	qs := make([]queue.Config, len(c.Queues))
	for i, q := range c.Queues {
		qs[i] = q.WithDefaults()
	}
	c.Queues = qs
	return c
}

// Validate checks c (after WithDefaults) and returns every problem.
func (c Config) Validate() []error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...)))
	}
	if c.MaxMisses < 0 {
		bad("max_misses %d must not be negative", c.MaxMisses)
	}
	if c.RetryTried < 0 || c.StaleOffer < 0 || c.CallbackLead < 0 {
		bad("durations must not be negative")
	}
	codes := map[string]string{}
	for _, f := range [...]struct{ name, code string }{
		{"login", c.Features.Login}, {"logout", c.Features.Logout},
		{"not_ready", c.Features.NotReady}, {"ready", c.Features.Ready},
	} {
		name, code := f.name, f.code
		if code == "" {
			bad("feature code %s is empty", name)
			continue
		}
		if other, dup := codes[code]; dup {
			bad("feature codes %s and %s are both %q", other, name, code)
		}
		codes[code] = name
	}
	if len(c.Queues) == 0 {
		bad("no queue configured")
	}
	return append(errs, queue.ValidateAll(c.Queues)...)
}

// ValidateAgents checks seat profiles: extensions unique and non-empty,
// skill levels 1..10.
func ValidateAgents(agents []Agent) []error {
	var errs []error
	seen := map[string]bool{}
	for _, a := range agents {
		if a.Ext == "" {
			errs = append(errs, fmt.Errorf("%w: agent without extension", ErrConfig))
		}
		if seen[a.Ext] {
			errs = append(errs, fmt.Errorf("%w: agent %s defined twice", ErrConfig, a.Ext))
		}
		seen[a.Ext] = true
		for sk, l := range a.Skills {
			if l < 1 || l > 10 {
				errs = append(errs, fmt.Errorf("%w: agent %s: skill %s level %d is not in 1..10", ErrConfig, a.Ext, sk, l))
			}
		}
	}
	return errs
}
