package config

import "time"

// Every default lives in this file: newConfig fills the values a file may
// leave out before decoding, and finishDefaults fills those that depend on
// other values after decoding. docs/CONFIG.md lists the same values.

const (
	defaultPromptsDir  = "prompts"
	defaultSkillLevel  = 5
	defaultRingTimeout = 15 * time.Second
	seatNamePrefix     = "Seat "
	defaultLanguage    = "zh"

	defaultMenuTimeout  = 5 * time.Second
	defaultRetries      = 2
	defaultCollectMax   = 20
	defaultDigitTimeout = 3 * time.Second
	defaultTerminator   = "#"
	defaultHangupReason = "ivr"
)

// maxCollect bounds the digits a collect node may ask for.
const maxCollect = 32

func newConfig() *Config {
	return &Config{
		SIP: SIP{
			Transports:      []string{TransportUDP, TransportTCP},
			Realm:           "hotline",
			UserAgent:       "hotline",
			NonceTTL:        5 * time.Minute,
			RegisterMin:     60 * time.Second,
			RegisterMax:     3600 * time.Second,
			RegisterDefault: 600 * time.Second,
			MaxAuthFailures: 2,
			SeatRingTimeout: 30 * time.Second,
		},
		RTP:           RTP{PortMin: 20000, PortMax: 29999, Timeout: 30 * time.Second},
		DataDir:       "./data",
		Location:      time.Local,
		ShutdownGrace: 60 * time.Second,
		Prompts:       Prompts{Welcome: "welcome.wav", HoldMusic: "hold.wav", Language: defaultLanguage},
		Skills:        []string{},
		Trunks:        []Trunk{},
		Lines:         []Line{},
		Emergency:     []Emergency{},
		Seats:         []Seat{},
		IVRs:          map[string]IVRTree{},
		Hours:         map[string]Hours{},
	}
}

// defaultSets gives the default prompt set its folder when prompts.sets is
// absent: prompts.dir itself. Called before the prompts are checked.
func defaultSets(c *Config) {
	if c.Prompts.Sets == nil {
		c.Prompts.Sets = map[string]string{c.Prompts.Language: "."}
	}
}

// newIVRNode returns a node of the type with its defaults.
func newIVRNode(name, typ string) IVRNode {
	n := IVRNode{Name: name, Type: typ}
	switch typ {
	case NodeMenu:
		n.BargeIn, n.Timeout, n.Retries = true, defaultMenuTimeout, defaultRetries
	case NodeCollect:
		n.BargeIn, n.Timeout, n.Retries = true, defaultMenuTimeout, defaultRetries
		n.Min, n.Max, n.Terminator, n.DigitTimeout = 1, defaultCollectMax, defaultTerminator, defaultDigitTimeout
	case NodeHangup:
		n.Reason = defaultHangupReason
	}
	return n
}

// finishDefaults fills the defaults that depend on other fields.
func finishDefaults(c *Config) {
	for i := range c.Lines {
		if hasTarget(c.Lines[i].Mode) && c.Lines[i].RingTimeout == 0 {
			c.Lines[i].RingTimeout = defaultRingTimeout
		}
	}
	for i := range c.Seats {
		if c.Seats[i].Name == "" {
			c.Seats[i].Name = seatNamePrefix + c.Seats[i].Extension
		}
	}
}
