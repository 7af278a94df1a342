package ivr

import (
	"maps"
	"slices"
	"time"

	"github.com/hotline-cc/hotline/config"
)

// Built-in tree used by lines without an ivr key when the config has no
// default_ivr: the welcome prompt (no barge-in), then the line's skill queue.
const (
	BuiltinTree = "builtin"
	nodeWelcome = "welcome"
	nodeQueue   = "queue"
)

// Plan is every IVR tree, business-hours set and the calendar of one
// config, compiled. Build one with NewPlan when a config is loaded (at start
// and on each reload) and keep it with that config: it is immutable, safe for
// concurrent use, and a Session keeps the Tree it started on, so a reload
// never changes a walk under way.
type Plan struct {
	trees   map[string]*Tree
	builtin *Tree
	def     *Tree
	hours   map[string]*config.Hours
	sched   schedule
	prompts []string
}

// NewPlan compiles the trees of a validated config. It stats prompt files in
// c.FS (to resolve each prompt set's folder), so call it once per load, not
// per call. A reference the config failed to validate becomes a hang-up at
// run time, never a panic.
func NewPlan(c *config.Config) *Plan {
	p := &Plan{trees: map[string]*Tree{}, hours: map[string]*config.Hours{}, sched: schedule{c.Calendar}}
	for name, h := range c.Hours {
		p.hours[name] = &h
	}
	for name, t := range c.IVRs {
		p.trees[name] = p.compile(c, t, true)
	}
	p.builtin = p.compile(c, builtin(c), false)
	p.def = p.builtin
	if t, ok := p.trees[c.DefaultIVR]; ok {
		p.def = t
	}
	p.prompts = p.collectPrompts(c)
	return p
}

// builtin is the tree of today's greeting: welcome, then the line's queue.
// Its prompt is a path in the prompt folder itself, not in a set's folder.
func builtin(c *config.Config) config.IVRTree {
	return config.IVRTree{Name: BuiltinTree, Start: nodeWelcome, Nodes: map[string]config.IVRNode{
		nodeWelcome: {Name: nodeWelcome, Type: config.NodePlay, Prompts: []string{c.Prompts.Welcome}, Next: nodeQueue},
		nodeQueue:   {Name: nodeQueue, Type: config.NodeQueue},
	}}
}

// Tree returns the tree with the name (nil when there is none).
func (p *Plan) Tree(name string) *Tree { return p.trees[name] }

// ForLine returns the tree a call to the line walks: the line's ivr, else the
// config's default_ivr, else the built-in greeting.
func (p *Plan) ForLine(l config.Line) *Tree {
	if t, ok := p.trees[l.IVR]; ok {
		return t
	}
	return p.def
}

// Open reports whether the hours set is open at t, in t's location (pass
// time.Now() or t.In(centre's zone)). Public holidays use the set's holiday
// hours and make-up working days (调休) the hours of their weekday. An empty
// name is always open; an unknown one is never open.
func (p *Plan) Open(hours string, t time.Time) bool {
	if hours == "" {
		return true
	}
	h, ok := p.hours[hours]
	return ok && p.sched.open(h, t)
}

// Holiday reports whether t falls on a public holiday of the calendar.
func (p *Plan) Holiday(t time.Time) bool { return p.sched.holiday(config.DateOf(t)) }

// Prompts returns every path inside config.FS that an Action of this plan
// may play (prompts of every set, the welcome, the announcements), sorted:
// the caller of NewPlan loads and encodes them once.
func (p *Plan) Prompts() []string { return p.prompts }

func (p *Plan) collectPrompts(c *config.Config) []string {
	all := map[string]bool{c.Prompts.Welcome: true}
	for _, l := range c.Lines {
		if l.Announcement != nil {
			all[l.Announcement.Prompt] = true
		}
	}
	for _, t := range append(slices.Collect(maps.Values(p.trees)), p.builtin) {
		for _, byName := range t.paths {
			for _, path := range byName {
				all[path] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(all))
}
