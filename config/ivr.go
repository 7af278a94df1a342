package config

import (
	"io/fs"
	"path"
	"time"
)

// Node types of an IVR tree (the `type:` of a node).
const (
	NodePlay     = "play"     // play prompts, then next
	NodeMenu     = "menu"     // prompts, one digit chooses the next node
	NodeCollect  = "collect"  // prompts, digits into a variable
	NodeSet      = "set"      // set a variable, a tag or the priority
	NodeTime     = "time"     // branch on business hours and the calendar
	NodeCaller   = "caller"   // branch on the caller's number
	NodeLanguage = "language" // choose the prompt set
	NodeQueue    = "queue"    // end: wait for an agent with a skill
	NodeTransfer = "transfer" // end: transfer to an external SIP target
	NodeHangup   = "hangup"   // end: hang up
)

// nodeTypes lists the node types in the order messages show them.
var nodeTypes = []string{NodePlay, NodeMenu, NodeCollect, NodeSet, NodeTime, NodeCaller,
	NodeLanguage, NodeQueue, NodeTransfer, NodeHangup}

// MaxPriority is the highest priority a queue, set or caller node may give
// (0 is normal; higher is served first).
const MaxPriority = 9

// IVRTree is one named IVR tree: the walk begins at Start. Package ivr builds
// its runnable form from it.
type IVRTree struct {
	Name, Start string
	Nodes       map[string]IVRNode
}

// IVRNode is one node of a tree. Which fields are meaningful depends on Type;
// the others are zero. Node references (Next, Default, Choices, Open, Closed,
// Holiday, Callers[].Next) name nodes of the same tree and are validated.
type IVRNode struct {
	Name, Type string

	Prompts []string // play, menu, collect: names inside the prompt set's folder
	BargeIn bool     // play, menu (collect always lets a digit stop its prompts)
	Next    string   // play, collect, set, language

	// menu and collect: after Timeout without input (or after an invalid
	// input) NoInput (or Invalid) and the prompts play again, at most
	// Retries more times; then the walk goes to Default.
	Choices          map[string]string // menu: DTMF key ("0"-"9", "*", "#") -> node
	Timeout          time.Duration
	Retries          int
	Invalid, NoInput []string
	Default          string

	Var          string        // collect: variable filled; set: variable set
	Min, Max     int           // collect: digits wanted
	Terminator   string        // collect: "#", "*" or "" (none)
	DigitTimeout time.Duration // collect: between digits
	Sensitive    bool          // collect: digits masked in logs and records (ID numbers)

	Value, Tag string // set
	Priority   int    // set, queue: 0..MaxPriority

	Hours                 string // time: name of an hours set
	Open, Closed, Holiday string // time: Holiday is optional (default: Open/Closed by the holiday's hours)
	Callers               []CallerList
	Language              string // language: the prompt set chosen
	Skill, Target, Reason string // queue (empty Skill: the line's), transfer, hangup
}

// CallerList is one branch of a caller node: callers whose number matches
// one of Numbers (exactly, or by prefix when it ends in "*") go to Next and
// get at least Priority.
type CallerList struct {
	Numbers  []string
	Priority int
	Next     string
}

// Hours is a named set of business hours: per weekday (indexed by
// time.Weekday) and on public holidays, the time ranges when it is open.
// A day with no range is closed.
type Hours struct {
	Name    string
	Week    [7][]TimeRange
	Holiday []TimeRange
}

// TimeRange is [From, To) as times since local midnight; To may be 24h.
type TimeRange struct{ From, To time.Duration }

// Calendar is the centre's public holidays and make-up working days (调休).
// A date in Holidays uses an hours set's Holiday ranges; a Workday uses the
// ranges of its As weekday, whatever day of the week it falls on.
type Calendar struct {
	Holidays []DateRange
	Workdays []Workday
}

// DateRange is the civil dates From..To, both included.
type DateRange struct{ From, To Date }

// Workday is a make-up working day worked as the weekday As.
type Workday struct {
	Date Date
	As   time.Weekday
}

// Date is a civil date (no time, no zone).
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the civil date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday { return d.time().Weekday() }

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int { return d.time().Compare(e.time()) }

// String formats d as YYYY-MM-DD.
func (d Date) String() string { return d.time().Format(time.DateOnly) }

func (d Date) time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// PromptPath returns the path inside FS of prompt name in prompt set set:
// the file in the set's folder when it exists there, else the one in the
// default set's folder (Prompts.Language). Called by package ivr when it
// builds its trees (it stats the file system, so not per call).
func (c *Config) PromptPath(set, name string) string {
	if dir, ok := c.Prompts.Sets[set]; ok && c.FS != nil {
		p := path.Join(dir, name)
		if _, err := fs.Stat(c.FS, p); err == nil {
			return p
		}
	}
	return path.Join(c.Prompts.Sets[c.Prompts.Language], name)
}
