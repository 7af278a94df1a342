package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// directory decodes the directory section: a list of entries.
func (p *parser) directory(path string, n *yaml.Node) {
	p.list(path, n, func(_ int, ip string, v *yaml.Node) {
		var e Entry
		choose := func(dst *string, what string, known []string) func(string, *yaml.Node) {
			return func(path string, v *yaml.Node) {
				if s, ok := p.str(path, v); ok && p.oneOf(path, v, s, what, known) {
					*dst = s
				}
			}
		}
		seen := p.mapping(ip, v, fields{
			"name":   func(path string, v *yaml.Node) { e.Name = p.entryName(path, v) },
			"number": func(path string, v *yaml.Node) { e.Number, _ = p.digits(path, v, 2, 20) },
			"target": func(path string, v *yaml.Node) { e.Target = p.sipURI(path, v) },
			"trunk": func(path string, v *yaml.Node) {
				if s, ok := p.str(path, v); ok && p.checkName(path, v, s, trunkChars, "made of a-z, 0-9, - and _") {
					e.Trunk = s
				}
			},
			"kind":         choose(&e.Kind, "kind", entryKinds),
			"ring_timeout": func(path string, v *yaml.Node) { setDuration(&p.reader, &e.RingTimeout, path, v, time.Second) },
			"hours":        func(path string, v *yaml.Node) { e.Hours, _ = p.nonEmpty(path, v) },
			"mode":         choose(&e.Mode, "mode", transferModes),
			"key":          func(path string, v *yaml.Node) { e.Key, _ = p.dtmfCode(path, v) },
			"caller_id":    choose(&e.CallerID, "caller_id", callerIDs),
			"fallback":     func(path string, v *yaml.Node) { e.Fallback = p.fallback(path, v) },
			"record":       p.setBool(&e.Record),
		})
		p.require(ip, v, seen, "name", "number")
		p.c.Directory.Entries = append(p.c.Directory.Entries, e)
	})
}

// entryName accepts a name starting with a-z, so that it never looks like a
// number or a code.
func (p *parser) entryName(path string, v *yaml.Node) string {
	s, ok := p.str(path, v)
	const what = "a name starting with a-z, made of a-z, 0-9, - and _"
	if !ok || !p.checkName(path, v, s, nameChars, what) {
		return ""
	}
	if s[0] < 'a' || s[0] > 'z' {
		p.problem(v.Line, path, "%q must be %s (so it never looks like a number)", s, what)
		return ""
	}
	return s
}

// fallback decodes agent, ticket or queue:NAME.
func (p *parser) fallback(path string, v *yaml.Node) Fallback {
	s, ok := p.str(path, v)
	if !ok {
		return Fallback{}
	}
	if name, isQueue := strings.CutPrefix(s, FallbackQueue+":"); isQueue && name != "" {
		return Fallback{Kind: FallbackQueue, Queue: name}
	}
	if s != FallbackAgent && s != FallbackTicket {
		p.problem(v.Line, path, "%q is not a fallback (agent, ticket or queue:NAME)", s)
		return Fallback{}
	}
	return Fallback{Kind: s}
}

// directorySource is what a directory entry numbered number takes from the
// parallel or subcentre line, or the emergency number, of that number: its
// kind, target, ring timeout and hours. False when there is none.
func directorySource(c *Config, number string) (Entry, bool) {
	if l, ok := c.Line(number); ok && hasTarget(l.Mode) && l.Target != "" {
		kind := KindDepartment
		if l.Mode == ModeSubcentre {
			kind = KindSubcentre
		}
		return Entry{Kind: kind, Target: l.Target, RingTimeout: l.RingTimeout, Hours: l.Hours}, true
	}
	if t, ok := c.EmergencyTarget(number); ok && t != "" {
		return Entry{Kind: KindEmergency, Target: t}, true
	}
	return Entry{}, false
}

// reservedCodes are the in-call codes of a seat (see CONTRACT.md, phone
// feature codes) that a one-key code must neither equal, begin nor start
// with: the digits are read as they come, so one code must never be the
// beginning of another.
var reservedCodes = []struct{ code, what string }{
	{"*1", "cancel a consult"},
	{"*2", "consult (*2<number>#) and complete a consult"},
	{"*3", "three-way"},
	{"*4", "swap"},
	{"##", "blind transfer (##<number>#)"},
	{"*7", "pause recording"},
	{"*9", "resume recording"},
}

// validateDirectory checks each entry against the others and the rest of
// the file.
func (p *parser) validateDirectory() {
	names, numbers := map[string]int{}, map[string]int{} // value -> index of its first entry
	for i, e := range p.c.Directory.Entries {
		ip := fmt.Sprintf("directory[%d]", i)
		if j, dup := firstUse(names, e.Name, i); dup {
			p.problemAt(ip+".name", "entry %q is already defined (line %d)", e.Name, p.lineOf(fmt.Sprintf("directory[%d].name", j)))
		}
		if j, dup := firstUse(numbers, e.Number, i); dup {
			p.problemAt(ip+".number", "number %s is already %s (line %d)", e.Number, p.entryText(j), p.lineOf(fmt.Sprintf("directory[%d].number", j)))
		}
		p.checkEntryTarget(ip, e)
		p.checkEntryRefs(ip, e)
	}
	p.checkEntryKeys()
}

// firstUse records i as the first user of value, or returns the earlier one
// and true; the empty value (reported already) is skipped.
func firstUse(first map[string]int, value string, i int) (int, bool) {
	if value == "" {
		return 0, false
	}
	if j, dup := first[value]; dup {
		return j, true
	}
	first[value] = i
	return 0, false
}

// entryText names entry i for messages: entry "police"'s.
func (p *parser) entryText(i int) string {
	if name := p.c.Directory.Entries[i].Name; name != "" {
		return fmt.Sprintf("entry %q's", name)
	}
	return fmt.Sprintf("directory[%d]'s", i)
}

// checkEntryTarget: a target or a trunk with an outbound address, unless
// the number is a parallel/subcentre line or an emergency number whose
// target the entry takes; an emergency number is an emergency entry.
func (p *parser) checkEntryTarget(ip string, e Entry) {
	src, hasSrc := directorySource(p.c, e.Number)
	switch {
	case e.Target != "" && e.Trunk != "":
		p.problemAt(ip+".trunk", "give target or trunk, not both")
	case e.Trunk != "":
		p.checkEntryTrunk(ip, e)
	case !hasSrc && e.Number != "" && !p.given(ip+".target") && !p.given(ip+".trunk"):
		p.problemAt(ip, "needs a target (a sip: URI) or a trunk to dial %s through; only the number of a parallel or subcentre line or of an emergency target may leave both out", e.Number)
	}
	kind := cmp.Or(e.Kind, src.Kind)
	switch {
	case kind == "" && e.Number != "" && !p.given(ip+".kind"):
		p.problemAt(ip, "needs a kind (%s)", strings.Join(entryKinds, ", "))
	case kind != KindEmergency && kind != "" && isEmergencyNumber(p.c, e.Number):
		p.problemAt(ip+".kind", "%s is an emergency number, so its kind is emergency (conference first), not %s", e.Number, kind)
	}
	if _, ok := p.c.Seat(e.Number); ok && e.Number != "" {
		p.problemAt(ip+".number", "%s is a seat's extension; a transfer to a seat needs no directory entry", e.Number)
	}
}

func (p *parser) given(path string) bool { _, ok := p.at[path]; return ok }

func isEmergencyNumber(c *Config, number string) bool {
	_, listed := c.EmergencyTarget(number)
	return listed || slices.Contains(wellKnownEmergency, number)
}

// checkEntryTrunk: the trunk exists and can place calls.
func (p *parser) checkEntryTrunk(ip string, e Entry) {
	i := slices.IndexFunc(p.c.Trunks, func(t Trunk) bool { return t.Name == e.Trunk })
	switch {
	case i < 0:
		var names []string
		for _, t := range p.c.Trunks {
			names = append(names, t.Name)
		}
		p.problemAt(ip+".trunk", "unknown trunk %q (trunks: %s)", e.Trunk, strings.Join(names, ", "))
	case p.c.Trunks[i].Outbound == "":
		p.problemAt(ip+".trunk", "trunk %q has no outbound address to dial %s through (trunks[%d], line %d)",
			e.Trunk, e.Number, i, p.lineOf(fmt.Sprintf("trunks[%d]", i)))
	}
}

// checkEntryRefs: hours and the fallback queue exist.
func (p *parser) checkEntryRefs(ip string, e Entry) {
	if e.Hours != "" {
		p.knownHours(ip+".hours", e.Hours)
	}
	if e.Fallback.Kind == FallbackQueue && !p.queueKnown(e.Fallback.Queue) {
		p.problemAt(ip+".fallback", "unknown queue %q (queues: %s)", e.Fallback.Queue, p.queueNames())
	}
}

// checkEntryKeys: one-key codes are unique, and none begins another or a
// seat's code (the feature codes and reservedCodes).
func (p *parser) checkEntryKeys() {
	type code struct{ code, what string }
	f := p.c.ACD.Features
	var taken []code
	for _, fc := range []code{{f.Login, "login"}, {f.Logout, "logout"}, {f.NotReady, "not_ready"}, {f.Ready, "ready"}} {
		taken = append(taken, code{fc.code, "the feature code acd.feature_codes." + fc.what})
	}
	for _, r := range reservedCodes {
		taken = append(taken, code{r.code, "the in-call code for " + r.what})
	}
	for i, e := range p.c.Directory.Entries {
		if e.Key == "" {
			continue
		}
		at := fmt.Sprintf("directory[%d].key", i)
		for _, t := range taken {
			if t.code != "" && (strings.HasPrefix(e.Key, t.code) || strings.HasPrefix(t.code, e.Key)) {
				p.problemAt(at, "%q clashes with %s (%q): no code may begin another", e.Key, t.what, t.code)
				break
			}
		}
		taken = append(taken, code{e.Key, fmt.Sprintf("%s key at line %d", p.entryText(i), p.lineOf(at))})
	}
}
