package config

import "time"

// Routing strategies of a queue (the `strategy:` of a queue). Package acd
// implements them under the same names.
const (
	StrategyLongestIdle = "longest_idle" // the seat idle longest (default)
	StrategyFewestCalls = "fewest_calls" // the seat with the fewest calls today
	StrategyRoundRobin  = "round_robin"  // the seat after the one offered last
	StrategySkillLevel  = "skill_level"  // the highest level in the skill, then longest idle
	StrategyRingAll     = "ring_all"     // every eligible seat at once (small queues)
)

// strategies lists the strategies in the order messages show them.
var strategies = []string{StrategyLongestIdle, StrategyFewestCalls, StrategyRoundRobin, StrategySkillLevel, StrategyRingAll}

// Overflow destination kinds (the first word of on_max_wait and on_full).
// The zero Destination is "none".
const (
	DestNone     = ""         // max wait: keep waiting; full queue: refuse the call busy
	DestQueue    = "queue"    // another queue, keeping the caller's arrival time
	DestTarget   = "target"   // a department's SIP URI, dialled by the engine
	DestMessage  = "message"  // a prompt, then hang up
	DestCallback = "callback" // the caller keeps their place and is called back
)

// Store kinds (store.kind).
const (
	StoreMemory = "memory" // one engine process (default)
	StoreRedis  = "redis"  // several engine nodes sharing one Redis
)

// ACD is the acd section: how seats log in and out and how offers that are
// not answered are handled. Every field is set (defaults applied).
type ACD struct {
	Features FeatureCodes
	// MaxMisses unanswered offers in a row set a seat not ready ("missed").
	MaxMisses int
	// RetryTried: a seat that missed a call is not offered it again before
	// this has passed.
	RetryTried time.Duration
	// StaleOffer: a seat ringing longer than this is freed (its engine node
	// is gone); above sip.seat_ring_timeout.
	StaleOffer time.Duration
	// CallbackLead: a seat whose wrap-up ends within this may take a
	// callback (the caller is dialled while the seat finishes).
	CallbackLead time.Duration
	// CallbackRing: how long a callback rings the caller before it counts
	// as not reached.
	CallbackRing time.Duration
	// AutoLogin: a logged-out seat is logged in when its phone registers.
	AutoLogin bool
	// ShortAbandon: a caller who abandons within this of reaching the
	// queue is a short abandon (the live figures, the reports' default).
	ShortAbandon time.Duration
}

// FeatureCodes are what an agent dials from the seat phone. Reasons maps
// the digit dialled after NotReady to a not-ready reason code.
type FeatureCodes struct {
	Login, Logout, NotReady, Ready string
	Reasons                        map[string]string
}

// Queue is one queue of waiting calls. Lines and IVR queue nodes name a
// skill and land in the queue named after it; a skill without such a queue
// in the file gets one with every default (Implied). Other queues are
// reached by overflow and escalation.
type Queue struct {
	Name, Skill   string
	MinLevel      int    // 1..10: the lowest seat level in Skill offered a call
	Strategy      string // one of the Strategy constants
	Escalation    []Step // ordered by After
	WrapUp        time.Duration
	ServiceLevel  time.Duration // answered within this counts as within the service level
	MaxWait       time.Duration // 0: no limit
	OnMaxWait     Destination
	MaxLength     int // waiting calls; 0: no limit
	OnFull        Destination
	AnnounceEvery time.Duration // position and wait announcements; 0: none
	Callback      bool          // callers may ask to be called back
	CallbackKey   string        // the key a waiting caller presses for a callback ("1")
	// CallbackAttempts is how many times a caller is called back before
	// their place is given up (1: once); CallbackRetry is how long after an
	// attempt the caller did not answer the next one may start.
	CallbackAttempts int
	CallbackRetry    time.Duration
	// CallbackExpiry: a kept place not called back within this of being
	// kept is given up (callback_expired).
	CallbackExpiry time.Duration
	DefaultHandle  time.Duration // handle time assumed before any call is measured
	Implied        bool          // not in the file: the default queue of a skill
	// Record: the queue's calls are recorded from the agent's answer
	// (stereo WAV, caller left, centre right).
	Record bool
	// Survey: when the agent hangs up first, the caller is asked to rate
	// the call 1-5 (the national five grades of 好差评).
	Survey bool
}

// Step widens the seats a call may go to once it has waited After: MinLevel
// lowers the level required (0 keeps it); Skills and the skills of Queues
// are added.
type Step struct {
	After          time.Duration
	MinLevel       int
	Skills, Queues []string
}

// Destination is where an overflowing call goes: Kind is one of the Dest
// constants; Queue, Target or Message goes with its kind.
type Destination struct {
	Kind, Queue, Target, Message string
}

// Store is the store section: where agent states and queue entries live.
// Node names this engine process (unique per process sharing a Redis).
type Store struct {
	Kind  string // StoreMemory or StoreRedis
	Redis Redis  // StoreRedis only
	Node  string
}

// Redis is store.redis. Prefix starts every key.
type Redis struct {
	Address, Password string
	DB                int
	Prefix            string
}

// Queue returns the queue with the name.
func (c *Config) Queue(name string) (Queue, bool) {
	for _, q := range c.Queues {
		if q.Name == name {
			return q, true
		}
	}
	return Queue{}, false
}
