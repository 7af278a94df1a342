package ivr

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/config"
)

// Outcome kinds: where a walk ends.
const (
	KindQueue    = "queue"    // wait for an agent with Skill, at Priority
	KindTransfer = "transfer" // transfer to the SIP URI Target
	KindHangup   = "hangup"   // hang up; Reason says why
)

// Path entries that are not node names.
const (
	PathAnnouncement = "announcement" // the line's transition announcement played
)

// Reasons of the hang-ups the Session decides by itself (a tree that failed
// validation could cause them; a validated one never does).
const (
	ReasonBrokenTree = "ivr: broken tree"
	ReasonLoop       = "ivr: loop with no input"
	// ReasonTooLong: the walk reached MaxPath entries (a caller going round
	// a menu forever); a valid tree can cause it.
	ReasonTooLong = "ivr: path too long"
)

// MaxPath bounds a walk's path (nodes entered and menu keys chosen): a walk
// that reaches it ends in a hang-up (ReasonTooLong). A caller's real way
// through a 12345 menu is a dozen entries.
const MaxPath = 64

// Env is what a Session knows of its call.
type Env struct {
	Now      func() time.Time // nil: time.Now
	Location *time.Location   // time branches and the calendar use Now in it; nil: Now's own location
	Caller   string           // the caller's number (From user part), for caller branches
	Dialled  string           // the number dialled
	Line     config.Line      // the line: its skill (queue nodes without one) and announcement
}

// Action is what the call must do next. Each Action replaces the previous
// one: stop what plays, disarm the timer, then play Play and arm Timer. The
// zero Action (NoChange) means: change nothing, keep playing and keep the
// timer armed.
type Action struct {
	Play    []string      // paths inside config.FS to play now, in order
	BargeIn bool          // a digit interrupts Play (the Session's answer to Digit replaces it)
	Timer   time.Duration // arm now; its expiry is Timeout (0: no timer)
	Done    *Outcome      // non-nil: the walk is over (Play and Timer are empty)
}

// NoChange reports whether a is the zero Action.
func (a Action) NoChange() bool { return len(a.Play) == 0 && a.Timer == 0 && a.Done == nil }

// Outcome is where a walk ended.
type Outcome struct {
	Kind     string // KindQueue, KindTransfer or KindHangup
	Skill    string // queue: the node's skill, else the line's
	Priority int    // queue: 0..config.MaxPriority, the highest the walk gave
	Target   string // transfer: a sip: URI
	Reason   string // hangup
}

type phase int

const (
	phNew      phase = iota
	phAnnounce       // the line's announcement plays
	phPlay           // a play node's prompts play
	phPrompt         // a menu's or collect's prompts play
	phWait           // a menu or collect waits for the first digit
	phDigits         // a collect waits for the next digit
	phDone
)

// Session is one caller's walk through a tree. It is not safe for
// concurrent use: the call goroutine owns it and calls its methods, which
// never block. The call must deliver PromptsDone only when the prompts of
// the latest Action finished playing by themselves (not when replaced or
// interrupted), and Timeout only for the timer of the latest Action; events
// that do not fit the Session's state are answered with NoChange.
type Session struct {
	t        *Tree
	env      Env
	phase    phase
	cur      *node
	tries    int
	digits   []byte
	lang     string
	vars     map[string]string
	tags     []string
	priority int
	path     []string
}

// NewSession starts a walk of t (from Plan.ForLine or Plan.Tree; not nil)
// for one call, on the call goroutine. Nothing happens until Start.
func NewSession(t *Tree, env Env) *Session {
	if env.Now == nil {
		env.Now = time.Now
	}
	return &Session{t: t, env: env, lang: t.lang, vars: map[string]string{}}
}

// Start begins the walk: the line's announcement while it is in force (it
// cannot be interrupted), then the tree's start node. Called once, when the
// caller is answered; later calls return NoChange.
func (s *Session) Start() Action {
	if s.phase != phNew {
		return Action{}
	}
	if a := s.env.Line.Announcement; announcing(a, s.now()) {
		s.phase = phAnnounce
		s.path = append(s.path, PathAnnouncement)
		return Action{Play: []string{a.Prompt}}
	}
	return s.enter(s.t.start)
}

// Digit is a DTMF digit from the caller (RFC 4733 or SIP INFO): '0'-'9',
// '*', '#'. It may arrive while prompts play.
func (s *Session) Digit(d rune) Action {
	switch s.phase {
	case phPlay:
		if !s.cur.BargeIn {
			return Action{}
		}
		a := s.enter(s.cur.next)
		if s.phase == phPrompt { // type-ahead: the digit answers the menu or collect reached
			return s.input(d)
		}
		return a
	case phPrompt:
		if !s.cur.BargeIn {
			return Action{}
		}
		return s.input(d)
	case phWait, phDigits:
		return s.input(d)
	}
	return Action{}
}

// PromptsDone reports that the prompts of the last Action finished playing.
func (s *Session) PromptsDone() Action {
	switch s.phase {
	case phAnnounce:
		return s.enter(s.t.start)
	case phPlay:
		return s.enter(s.cur.next)
	case phPrompt:
		if s.cur.Timeout <= 0 {
			return s.retry(s.cur.NoInput)
		}
		s.phase = phWait
		return Action{Timer: s.cur.Timeout}
	}
	return Action{}
}

// Timeout reports that the timer of the last Action expired.
func (s *Session) Timeout() Action {
	switch s.phase {
	case phWait:
		return s.retry(s.cur.NoInput)
	case phDigits:
		return s.collected()
	}
	return Action{}
}

// Sensitive reports whether the walk waits for the digits of a collect node
// marked sensitive (an ID number): the call masks them in its logs and
// record. A digit typed ahead into such a node (barge-in on the play before
// it) is only known to be sensitive once Digit returned.
func (s *Session) Sensitive() bool {
	return s.cur != nil && s.cur.Type == config.NodeCollect && s.cur.Sensitive &&
		(s.phase == phPrompt || s.phase == phWait || s.phase == phDigits)
}

// Done reports whether the walk is over.
func (s *Session) Done() bool { return s.phase == phDone }

// Path returns the nodes entered and the menu digits chosen, in order (the
// record's ivr_path), e.g. ["greeting", "2", "complaint", "general"]; it
// starts with PathAnnouncement when the announcement played. A copy.
func (s *Session) Path() []string { return slices.Clone(s.path) }

// Tags returns the tags set so far, in order (the record's category). A
// copy.
func (s *Session) Tags() []string { return slices.Clone(s.tags) }

// Vars returns the variables set and collected, plus "language" (the prompt
// set in use) and, when any, "tags" (comma-separated, in order). A copy.
func (s *Session) Vars() map[string]string {
	out := maps.Clone(s.vars)
	out["language"] = s.lang
	if len(s.tags) > 0 {
		out["tags"] = strings.Join(s.tags, ",")
	}
	return out
}

// announcing reports whether the announcement is in force on the civil date
// of now (its from and until are dates, whatever zone they were read in).
func announcing(a *config.Announcement, now time.Time) bool {
	if a == nil {
		return false
	}
	d := config.DateOf(now)
	return d.Compare(config.DateOf(a.From)) >= 0 && d.Compare(config.DateOf(a.Until)) < 0
}

func (s *Session) now() time.Time {
	t := s.env.Now()
	if s.env.Location != nil {
		t = t.In(s.env.Location)
	}
	return t
}

// prompts returns the paths of the prompt lists in the current language.
func (s *Session) prompts(lists ...[]string) []string { return s.t.prompts(s.lang, lists...) }

func (s *Session) end(o Outcome) Action {
	s.phase, s.cur = phDone, nil
	return Action{Done: &o}
}

// queue ends the walk in a queue: the node's skill or the line's, and the
// highest priority the walk gave.
func (s *Session) queue(n *node) Action {
	return s.end(Outcome{Kind: KindQueue, Skill: cmp.Or(n.Skill, s.env.Line.Skill), Priority: max(n.Priority, s.priority)})
}
