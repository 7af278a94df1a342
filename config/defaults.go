package config

import (
	"cmp"
	"os"
	"slices"
	"time"
)

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

// ACD, queue and store defaults.
const (
	defaultMaxMisses    = 3
	defaultRetryTried   = 10 * time.Second
	defaultStaleOffer   = 2 * time.Minute
	defaultCallbackLead = 10 * time.Second
	defaultCallbackRing = 30 * time.Second
	defaultCallbackKey  = "1"
	defaultCallbackTry  = 5 * time.Minute
	defaultCallbackExp  = 4 * time.Hour
	defaultQueueLevel   = 1
	defaultServiceLevel = 15 * time.Second
	defaultHandleTime   = 3 * time.Minute
	defaultRedisPrefix  = "{hotline}:" // one Redis Cluster slot (store.DefaultRedisPrefix)
	defaultNodeName     = "hotline"    // when the host name cannot be read
	minAnnounceEvery    = 10 * time.Second
)

// defaultFeatureCodes: *11 log in, *12 log out, *13 not ready (*13 then a
// digit for a reason), *14 ready.
func defaultFeatureCodes() FeatureCodes {
	return FeatureCodes{
		Login: "*11", Logout: "*12", NotReady: "*13", Ready: "*14",
		Reasons: map[string]string{"1": "break", "2": "meal", "3": "training", "4": "meeting"},
	}
}

// newQueue returns a queue with its defaults; Skill is set when decoded
// (the name's, when the file gives none).
func newQueue(name string) Queue {
	return Queue{Name: name, MinLevel: defaultQueueLevel, Strategy: StrategyLongestIdle,
		ServiceLevel: defaultServiceLevel, DefaultHandle: defaultHandleTime, CallbackKey: defaultCallbackKey,
		CallbackAttempts: 1, CallbackRetry: defaultCallbackTry, CallbackExpiry: defaultCallbackExp}
}

// maxCollect bounds the digits a collect node may ask for.
const maxCollect = 32

func newConfig() *Config {
	return &Config{
		CallbackNumbers: mustNumberPatterns(DefaultCallbackNumbers),
		SIP: SIP{
			Transports:      []string{TransportUDP, TransportTCP},
			Realm:           "hotline",
			UserAgent:       "hotline",
			NonceTTL:        5 * time.Minute,
			RegisterMin:     60 * time.Second,
			RegisterMax:     3600 * time.Second,
			RegisterDefault: 600 * time.Second,
			MaxAuthFailures: 2,
			AuthLockout:     15 * time.Minute,
			SeatNetworks:    DefaultSeatNetworks(),
			SeatRingTimeout: 30 * time.Second,
			// RFC 4028 section 4's recommended Min-SE.
			MinSessionExpires: 90 * time.Second,
			SeatSRTP:          SRTPOff,
		},
		RTP:           RTP{PortMin: 20000, PortMax: 29999, Timeout: 30 * time.Second, BatchSends: true, FastPath: FastPathAuto},
		DataDir:       "./data",
		Location:      time.Local,
		ShutdownGrace: 60 * time.Second,
		Prompts:       Prompts{Welcome: "welcome.wav", HoldMusic: "hold.wav", Language: defaultLanguage},
		Skills:        []string{},
		Trunks:        []Trunk{},
		Lines:         []Line{},
		Emergency:     []Emergency{},
		Seats:         []Seat{},
		Directory:     Directory{Entries: []Entry{}},
		IVRs:          map[string]IVRTree{},
		Hours:         map[string]Hours{},
		ACD: ACD{Features: defaultFeatureCodes(), MaxMisses: defaultMaxMisses, RetryTried: defaultRetryTried,
			StaleOffer: defaultStaleOffer, CallbackLead: defaultCallbackLead,
			CallbackRing: defaultCallbackRing, AutoLogin: true, ShortAbandon: 5 * time.Second},
		Queues: []Queue{},
		Store:  Store{Kind: StoreMemory, Redis: Redis{Prefix: defaultRedisPrefix}},
		Limits: defaultLimits(),
		Records: Records{Fsync: FsyncInterval, FsyncInterval: 200 * time.Millisecond,
			Stream: RecordStream{Key: "hotline:records", MaxLen: 100000}, Webhook: Webhook{Timeout: 5 * time.Second},
			MissedWindow: 24 * time.Hour},
		Wallboard: Wallboard{Title: "12345 政务服务便民热线", ServiceLevelYellow: 80, ServiceLevelRed: 60,
			LongestWaitYellow: 30 * time.Second, LongestWaitRed: 60 * time.Second},
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
	for _, sk := range c.Skills {
		if _, ok := c.Queue(sk); !ok {
			q := newQueue(sk)
			q.Skill, q.Implied = sk, true
			c.Queues = append(c.Queues, q)
		}
	}
	for i := range c.Queues {
		if c.Queues[i].MaxLength == 0 {
			c.Queues[i].MaxLength = c.Limits.MaxWaitingPerQueue
		}
	}
	finishDirectory(c)
	if c.Store.Node == "" {
		c.Store.Node = hostNode()
	}
}

// hostNode is the default node name: the machine's host name.
func hostNode() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return defaultNodeName
	}
	return h
}

// finishDirectory adds the derived entries and fills every default; called
// by finishDefaults after the lines' own defaults.
func finishDirectory(c *Config) {
	d := &c.Directory
	derive := func(number string) {
		if !slices.ContainsFunc(d.Entries, func(e Entry) bool { return e.Number == number }) {
			d.Entries = append(d.Entries, Entry{Name: number, Number: number, Derived: true})
		}
	}
	for _, l := range c.Lines {
		if hasTarget(l.Mode) {
			derive(l.Number)
		}
	}
	for _, em := range c.Emergency {
		derive(em.Number)
	}
	for i := range d.Entries {
		entryDefaults(c, &d.Entries[i])
	}
}

// entryDefaults fills what e leaves out: from its source (line or emergency
// number), then the defaults.
func entryDefaults(c *Config, e *Entry) {
	src, _ := directorySource(c, e.Number)
	if e.Target == "" && e.Trunk == "" {
		e.Target = src.Target
	}
	e.Kind = cmp.Or(e.Kind, src.Kind)
	e.Hours = cmp.Or(e.Hours, src.Hours)
	e.RingTimeout = cmp.Or(e.RingTimeout, src.RingTimeout, defaultRingTimeout)
	if e.Mode == "" {
		e.Mode = TransferConsult
		if e.Kind == KindEmergency {
			e.Mode = TransferConference
		}
	}
	e.CallerID = cmp.Or(e.CallerID, CallerIDCitizen)
	if e.Fallback.Kind == "" {
		e.Fallback = Fallback{Kind: FallbackAgent}
	}
	e.URI = e.Target
	if i := slices.IndexFunc(c.Trunks, func(t Trunk) bool { return t.Name == e.Trunk }); i >= 0 && e.Trunk != "" {
		e.URI = c.Trunks[i].OutboundURI(e.Number)
	}
}
