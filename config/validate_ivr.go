package config

import (
	"cmp"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
)

// validateIVR checks the references of lines, trees, hours and prompt sets,
// and the shape of every tree: unknown and unreachable nodes, loops that
// never wait for the caller, menus without exits.
func (p *parser) validateIVR() {
	if _, ok := p.c.Prompts.Sets[p.c.Prompts.Language]; !ok {
		p.problemAt("prompts.language", "%q is not one of prompts.sets (%s)", p.c.Prompts.Language,
			strings.Join(slices.Sorted(maps.Keys(p.c.Prompts.Sets)), ", "))
	}
	if name := p.c.DefaultIVR; name != "" {
		p.knownTree("default_ivr", name)
	}
	for i, l := range p.c.Lines {
		ip := fmt.Sprintf("lines[%d]", i)
		if l.IVR != "" {
			p.knownTree(ip+".ivr", l.IVR)
		}
		if l.Hours != "" {
			p.knownHours(ip+".hours", l.Hours)
			if l.Mode != "" && !hasTarget(l.Mode) {
				p.problemAt(ip+".hours", "only parallel and subcentre lines have hours (the department's), not a %s line", l.Mode)
			}
		}
	}
	for _, name := range p.sortedTrees() {
		p.checkTree(p.c.IVRs[name])
	}
	p.checkCalendar()
}

func (p *parser) knownTree(at, name string) {
	if _, ok := p.c.IVRs[name]; !ok {
		p.problemAt(at, "unknown IVR tree %q (trees: %s)", name, strings.Join(slices.Sorted(maps.Keys(p.c.IVRs)), ", "))
	}
}

func (p *parser) knownHours(at, name string) {
	if _, ok := p.c.Hours[name]; !ok {
		p.problemAt(at, "unknown hours %q (hours: %s)", name, strings.Join(slices.Sorted(maps.Keys(p.c.Hours)), ", "))
	}
}

// sortedTrees returns the tree names in file order.
func (p *parser) sortedTrees() []string {
	return p.byLine(slices.Collect(maps.Keys(p.c.IVRs)), func(n string) string { return "ivr." + n })
}

// byLine sorts names by the line of the path each maps to.
func (p *parser) byLine(names []string, pathOf func(string) string) []string {
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(p.lineOf(pathOf(a)), p.lineOf(pathOf(b))), cmp.Compare(a, b))
	})
	return names
}

// edge is a reference from a node to another: the key that holds it.
type edge struct{ key, to string }

// edges returns the node references of n, in a fixed order.
func edges(n IVRNode) []edge {
	var out []edge
	add := func(key, to string) {
		if to != "" {
			out = append(out, edge{key, to})
		}
	}
	add("next", n.Next)
	for _, k := range slices.Sorted(maps.Keys(n.Choices)) {
		add("choices."+k, n.Choices[k])
	}
	add("default", n.Default)
	add("open", n.Open)
	add("closed", n.Closed)
	add("holiday", n.Holiday)
	for i, cl := range n.Callers {
		add(fmt.Sprintf("lists[%d].next", i), cl.Next)
	}
	return out
}

// waitsForCaller reports whether a node of the type waits for the caller
// (so a loop through it is paced by the caller, not spinning).
func waitsForCaller(typ string) bool { return typ == NodeMenu || typ == NodeCollect }

func (p *parser) checkTree(t IVRTree) {
	base := "ivr." + t.Name
	names := p.byLine(slices.Collect(maps.Keys(t.Nodes)), func(n string) string { return base + ".nodes." + n })
	if _, ok := t.Nodes[t.Start]; t.Start != "" && !ok {
		p.problemAt(base+".start", "unknown node %q (nodes: %s)", t.Start, strings.Join(names, ", "))
	}
	for _, name := range names {
		n, np := t.Nodes[name], base+".nodes."+name
		for _, e := range edges(n) {
			if _, ok := t.Nodes[e.to]; !ok {
				p.problemAt(np+"."+e.key, "unknown node %q (nodes: %s)", e.to, strings.Join(names, ", "))
			}
		}
		p.checkNode(n, np)
	}
	if slices.ContainsFunc(names, func(n string) bool { return t.Nodes[n].Type == "" }) {
		return // a node without a valid type has no known exits: reachability would only echo that
	}
	p.checkReachable(t, names, base)
	p.checkInputLoops(t, names, base)
}

func (p *parser) checkNode(n IVRNode, np string) {
	switch n.Type {
	case NodeMenu:
		if _, given := p.at[np+".choices"]; given && len(n.Choices) == 0 {
			p.problemAt(np+".choices", "a menu without exits: give at least one key and the node it leads to")
		}
	case NodeCollect:
		if n.Min > n.Max && n.Max > 0 {
			p.problemAt(np+".min", "min %d is above max %d", n.Min, n.Max)
		}
	case NodeTime:
		if n.Hours != "" {
			p.knownHours(np+".hours", n.Hours)
		}
	case NodeLanguage:
		if _, ok := p.c.Prompts.Sets[n.Language]; n.Language != "" && !ok {
			p.problemAt(np+".set", "unknown prompt set %q (prompts.sets: %s)", n.Language,
				strings.Join(slices.Sorted(maps.Keys(p.c.Prompts.Sets)), ", "))
		}
	case NodeQueue:
		if n.Skill != "" && !p.skillsBad && !slices.Contains(p.c.Skills, n.Skill) {
			p.problemAt(np+".skill", "unknown skill %q (skills: %v)", n.Skill, p.c.Skills)
		}
	}
}

// checkReachable reports nodes the walk can never reach from the start.
func (p *parser) checkReachable(t IVRTree, names []string, base string) {
	if _, ok := t.Nodes[t.Start]; !ok {
		return
	}
	seen := map[string]bool{t.Start: true}
	todo := []string{t.Start}
	for len(todo) > 0 {
		n := t.Nodes[todo[0]]
		todo = todo[1:]
		for _, e := range edges(n) {
			if _, ok := t.Nodes[e.to]; ok && !seen[e.to] {
				seen[e.to] = true
				todo = append(todo, e.to)
			}
		}
	}
	for _, name := range names {
		if !seen[name] {
			p.problemAt(base+".nodes."+name, "node %q is unreachable from start %q", name, t.Start)
		}
	}
}

// checkInputLoops reports each loop made only of nodes that do not wait for
// the caller (play, set, time, caller, language): it would replay prompts or
// spin forever. Each loop is reported once, at its first node in the file.
func (p *parser) checkInputLoops(t IVRTree, names []string, base string) {
	reported := map[string]bool{}
	for _, start := range names {
		if reported[start] || waitsForCaller(t.Nodes[start].Type) {
			continue
		}
		cycle := findCycle(t, start)
		if cycle == nil {
			continue
		}
		for _, n := range cycle {
			reported[n] = true
		}
		p.problemAt(base+".nodes."+start, "a loop with no input: %s; put a menu or collect node on it",
			strings.Join(append(cycle, start), " -> "))
	}
}

// findCycle returns a path start -> ... leading back to start through nodes
// that do not wait for the caller, or nil.
func findCycle(t IVRTree, start string) []string {
	var stack []string
	seen := map[string]bool{}
	var visit func(name string) bool
	visit = func(name string) bool {
		stack = append(stack, name)
		seen[name] = true
		for _, e := range edges(t.Nodes[name]) {
			to, ok := t.Nodes[e.to]
			switch {
			case !ok || waitsForCaller(to.Type):
			case e.to == start:
				return true
			case !seen[e.to] && visit(e.to):
				return true
			}
		}
		stack = stack[:len(stack)-1]
		return false
	}
	if visit(start) {
		return stack
	}
	return nil
}

// checkCalendar refuses a date that is both a holiday and a make-up
// working day, and a make-up working day that is not a weekend day.
func (p *parser) checkCalendar() {
	for i, w := range p.c.Calendar.Workdays {
		wp := p.workdayPaths[i]
		if wd := w.Date.Weekday(); wd != 0 && wd != 6 {
			p.problemAt(wp, "%s is a %s; make-up working days (调休) are Saturdays or Sundays", w.Date, dayNames[wd])
			continue
		}
		for j, h := range p.c.Calendar.Holidays {
			if w.Date.Compare(h.From) >= 0 && w.Date.Compare(h.To) <= 0 {
				p.problemAt(wp, "%s is also a holiday (%s, line %d)", w.Date, p.holidayPaths[j], p.lineOf(p.holidayPaths[j]))
			}
		}
	}
}

// checkIVRPrompts checks every prompt of every node: it must exist in the
// default set's folder and be 8 kHz mono 16-bit PCM; a copy in another
// set's folder must have the same format.
func (p *parser) checkIVRPrompts() {
	sets := p.c.Prompts.Sets
	for _, name := range slices.Sorted(maps.Keys(sets)) {
		dir := sets[name]
		if st, err := fsStat(p.c.FS, dir); err != nil || !st.IsDir() {
			p.problemAt("prompts.sets."+name, "folder %q not found in %s", dir, p.shownDir())
		}
	}
	def, ok := sets[p.c.Prompts.Language]
	if !ok {
		return
	}
	for _, tn := range p.sortedTrees() {
		t := p.c.IVRs[tn]
		for _, nn := range slices.Sorted(maps.Keys(t.Nodes)) {
			n, np := t.Nodes[nn], "ivr."+tn+".nodes."+nn
			for _, l := range []struct {
				key   string
				names []string
			}{{"prompts", n.Prompts}, {"invalid", n.Invalid}, {"no_input", n.NoInput}} {
				for i, name := range l.names {
					p.checkSetPrompt(fmt.Sprintf("%s.%s[%d]", np, l.key, i), def, name)
				}
			}
		}
	}
}

func (p *parser) checkSetPrompt(at, def, name string) {
	if err := checkWAV(p.c.FS, path.Join(def, name)); err != nil {
		p.problemAt(at, "prompt %q in %s: %v", name, p.shownDir()+setDirText(def), err)
	}
	for _, set := range slices.Sorted(maps.Keys(p.c.Prompts.Sets)) {
		dir := p.c.Prompts.Sets[set]
		if dir == def {
			continue
		}
		f := path.Join(dir, name)
		if _, err := fsStat(p.c.FS, f); err != nil {
			continue
		}
		if err := checkWAV(p.c.FS, f); err != nil {
			p.problemAt(at, "prompt %q of set %s in %s: %v", name, set, p.shownDir()+setDirText(dir), err)
		}
	}
}

func setDirText(dir string) string {
	if dir == "." {
		return ""
	}
	return dir + "/"
}

func fsStat(fsys fs.FS, name string) (fs.FileInfo, error) {
	if fsys == nil {
		return nil, fs.ErrNotExist
	}
	return fs.Stat(fsys, name)
}
