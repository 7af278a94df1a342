package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// validateACD checks the rules across the acd, queues and store sections.
// Implied queues are added after validation, so here c.Queues holds the
// file's queues only; a skill name is always a queue (its own or implied).
func (p *parser) validateACD() {
	p.checkFeatureCodes()
	p.checkStaleOffer()
	names := map[string]string{} // queue name -> path of its first definition
	for i, q := range p.c.Queues {
		ip := fmt.Sprintf("queues[%d]", i)
		if first, dup := names[q.Name]; dup && q.Name != "" {
			p.problemAt(ip+".name", "queue %q is already defined (line %d)", q.Name, p.lineOf(first))
			continue
		}
		names[q.Name] = ip
		p.checkQueue(ip, q)
	}
	p.checkOverflowLoops()
	p.checkStore()
}

// checkStaleOffer: a seat is freed as stale only once it has rung longer
// than any offer may (its engine node is gone).
func (p *parser) checkStaleOffer() {
	stale, ring := p.c.ACD.StaleOffer, p.c.SIP.SeatRingTimeout
	if stale > ring {
		return
	}
	if _, given := p.at["acd.stale_offer"]; given {
		p.problemAt("acd.stale_offer", "%s must be above sip.seat_ring_timeout (%s): only a seat ringing longer has lost its engine node", stale, ring)
		return
	}
	p.problemAt("sip.seat_ring_timeout", "%s must be below acd.stale_offer (%s, the default); raise acd.stale_offer too", ring, stale)
}

// checkFeatureCodes: the four codes and each not_ready+reason differ, so
// every code means one thing. A clash is reported on the code the file
// gives (the other may be a default).
func (p *parser) checkFeatureCodes() {
	f := p.c.ACD.Features
	const at = "acd.feature_codes."
	owner := map[string]string{} // code -> key of its first use
	claim := func(key, code string) {
		first, dup := owner[code]
		if !dup {
			owner[code] = key
			return
		}
		if _, given := p.at[at+key]; given {
			p.problemAt(at+key, "%s is also %s", codeText(key, code), codeText(first, code))
		} else {
			p.problemAt(at+first, "%s is also %s", codeText(first, code), codeText(key, code))
		}
	}
	claim("login", f.Login)
	claim("logout", f.Logout)
	claim("not_ready", f.NotReady)
	claim("ready", f.Ready)
	for _, d := range slices.Sorted(maps.Keys(f.Reasons)) {
		claim("reasons."+d, f.NotReady+d)
	}
	codes := map[string]string{"login": f.Login, "logout": f.Logout, "not_ready": f.NotReady, "ready": f.Ready}
	for _, key := range slices.Sorted(maps.Keys(codes)) {
		for _, mc := range MonitorCodes {
			if code := codes[key]; code != "" && (strings.HasPrefix(code, mc) || strings.HasPrefix(mc, code)) {
				p.problemAt(at+key, "%s clashes with the supervisor's monitoring code %q<extension>", codeText(key, code), mc)
				break
			}
		}
	}
}

// MonitorCodes are what a supervisor's phone dials before an agent's
// extension to monitor the agent's call: listen, whisper, barge. No
// feature code may begin one or start with one.
var MonitorCodes = [3]string{"*31", "*32", "*33"}

// codeText names a feature code for messages: "login (*11)", or
// "not_ready then 1 (*131)".
func codeText(key, code string) string {
	if d, ok := strings.CutPrefix(key, "reasons."); ok {
		return fmt.Sprintf("not_ready then %s (%q)", d, code)
	}
	return fmt.Sprintf("%s (%q)", key, code)
}

// checkQueue checks one of the file's queues against the skills, the other
// queues and the prompts.
func (p *parser) checkQueue(ip string, q Queue) {
	switch {
	case p.skillsBad || q.Name == "":
	case q.Skill == "":
		// the skill key was given and reported
	case !slices.Contains(p.c.Skills, q.Skill):
		if _, given := p.at[ip+".skill"]; given {
			p.problemAt(ip+".skill", "unknown skill %q (skills: %v)", q.Skill, p.c.Skills)
		} else {
			p.problemAt(ip, "queue %q is not named after a skill, so it needs a skill (skills: %v)", q.Name, p.c.Skills)
		}
	case slices.Contains(p.c.Skills, q.Name) && q.Skill != q.Name:
		p.problemAt(ip+".skill", "queue %q is named after a skill, so it must serve it (lines and IVR queue nodes of skill %s land in it), not %q",
			q.Name, q.Name, q.Skill)
	}
	p.checkEscalation(ip, q)
	p.checkCallback(ip, q)
	p.checkSurvey(ip, q)
	p.checkDestination(ip+".on_max_wait", q, q.OnMaxWait)
	p.checkDestination(ip+".on_full", q, q.OnFull)
	_, hasMaxWait := p.at[ip+".max_wait"]
	_, hasOnMaxWait := p.at[ip+".on_max_wait"]
	_, hasMaxLength := p.at[ip+".max_length"]
	_, hasOnFull := p.at[ip+".on_full"]
	switch {
	case hasMaxWait && !hasOnMaxWait:
		p.problemAt(ip+".max_wait", "needs on_max_wait: where a call goes after waiting that long")
	case hasOnMaxWait && !hasMaxWait:
		p.problemAt(ip+".on_max_wait", "needs max_wait: how long a call waits before it goes there")
	}
	if hasOnFull && !hasMaxLength {
		p.problemAt(ip+".on_full", "needs max_length: how many calls may wait before the queue is full")
	}
	if q.AnnounceEvery > 0 && q.AnnounceEvery < minAnnounceEvery {
		p.problemAt(ip+".announce_every", "must be 0 (no announcements) or at least %s, not %s", minAnnounceEvery, q.AnnounceEvery)
	}
}

// checkEscalation: steps come later and later, widen the level, and name
// known skills and queues.
func (p *parser) checkEscalation(ip string, q Queue) {
	level := q.MinLevel
	var last Step
	for j, s := range q.Escalation {
		sp := fmt.Sprintf("%s.escalation[%d]", ip, j)
		if j > 0 && s.After != 0 && s.After <= last.After {
			p.problemAt(sp+".after", "%s must be later than the step before (%s)", s.After, last.After)
		}
		if s.MinLevel != 0 && level != 0 && s.MinLevel >= level {
			p.problemAt(sp+".min_level", "%d does not widen: the level required is already %d", s.MinLevel, level)
		}
		if s.MinLevel != 0 {
			level = s.MinLevel
		}
		for k, sk := range s.Skills {
			if !p.skillsBad && !slices.Contains(p.c.Skills, sk) {
				p.problemAt(fmt.Sprintf("%s.skills[%d]", sp, k), "unknown skill %q (skills: %v)", sk, p.c.Skills)
			}
		}
		for k, name := range s.Queues {
			if !p.queueKnown(name) {
				p.problemAt(fmt.Sprintf("%s.queues[%d]", sp, k), "unknown queue %q (queues: %s)", name, p.queueNames())
			}
		}
		last = s
	}
}

// CallbackPrompts are the prompts a queue with callback needs in the prompt
// folder: the offer (naming the key), the confirmation before hanging up,
// the greeting of the call back, and the whisper the seat hears.
var CallbackPrompts = []string{"callback-offer.wav", "callback-confirm.wav", "callback-hello.wav", "callback-whisper.wav"}

// SurveyPrompts are the prompts a queue with survey needs: the question
// (the five grades and their keys) and the thanks before hanging up.
var SurveyPrompts = []string{"survey.wav", "survey-thanks.wav"}

// checkSurvey: a queue with survey needs the survey prompts.
func (p *parser) checkSurvey(ip string, q Queue) {
	if !q.Survey || p.c.FS == nil {
		return
	}
	for _, name := range SurveyPrompts {
		p.checkPrompt(ip+".survey", name)
	}
}

// checkCallback: a queue that offers callbacks needs a trunk to call back
// through and the callback prompts.
func (p *parser) checkCallback(ip string, q Queue) {
	for _, key := range []string{"callback_key", "callback_attempts", "callback_retry_after", "callback_expiry"} {
		if _, given := p.at[ip+"."+key]; given && !q.Callback {
			p.problemAt(ip+"."+key, "needs callback: true on the queue")
		}
	}
	if !q.Callback {
		return
	}
	if !slices.ContainsFunc(p.c.Trunks, func(t Trunk) bool { return t.Outbound != "" }) {
		p.problemAt(ip+".callback", "callback needs a trunk with an outbound address to call back through (trunks[].outbound: sip:HOST:PORT)")
	}
	if p.c.FS == nil {
		return
	}
	for _, name := range CallbackPrompts {
		p.checkPrompt(ip+".callback", name)
	}
}

func (p *parser) checkDestination(at string, q Queue, d Destination) {
	switch d.Kind {
	case DestQueue:
		if d.Queue == q.Name {
			p.problemAt(at, "queue %q cannot overflow to itself", q.Name)
		} else if !p.queueKnown(d.Queue) {
			p.problemAt(at, "unknown queue %q (queues: %s)", d.Queue, p.queueNames())
		}
	case DestCallback:
		if !q.Callback {
			p.problemAt(at, "callback needs callback: true on the queue")
		}
	case DestMessage:
		if p.c.FS != nil {
			p.checkPrompt(at, d.Message)
		}
	}
}

// queueKnown: a queue of the file, or a skill's (its own or implied).
func (p *parser) queueKnown(name string) bool {
	_, ok := p.c.Queue(name)
	return ok || p.skillsBad || slices.Contains(p.c.Skills, name)
}

// queueNames lists the queues a reference may name: the file's, then the
// implied ones.
func (p *parser) queueNames() string {
	var out []string
	for _, q := range p.c.Queues {
		if q.Name != "" && !slices.Contains(out, q.Name) {
			out = append(out, q.Name)
		}
	}
	for _, sk := range p.c.Skills {
		if !slices.Contains(out, sk) {
			out = append(out, sk)
		}
	}
	return strings.Join(out, ", ")
}

// checkOverflowLoops refuses queue overflow destinations that lead back to
// a queue already on the way: such a caller would bounce between queues
// forever (or, for full queues, at once). Each loop is reported once, on
// the first of its queues in the file.
func (p *parser) checkOverflowLoops() {
	reported := map[string]bool{}
	for i, q := range p.c.Queues {
		if reported[q.Name] || q.Name == "" {
			continue
		}
		loop, key := p.overflowLoop(q.Name, q.Name, nil, map[string]bool{})
		if loop == nil {
			continue
		}
		for _, name := range loop {
			reported[name] = true
		}
		p.problemAt(fmt.Sprintf("queues[%d].%s", i, key), "overflow loop: %s -> %s; a caller would bounce between these queues forever",
			strings.Join(loop, " -> "), loop[0])
	}
}

// overflowLoop follows queue destinations depth first from name, looking
// for start; it returns the loop (nil when none) and the key of the first
// edge on it. seen holds the queues already explored.
func (p *parser) overflowLoop(start, name string, path []string, seen map[string]bool) ([]string, string) {
	if len(path) > 0 && name == start {
		return path, ""
	}
	q, ok := p.c.Queue(name)
	if !ok || seen[name] {
		return nil, ""
	}
	seen[name] = true
	for _, e := range []struct {
		key string
		d   Destination
	}{{"on_max_wait", q.OnMaxWait}, {"on_full", q.OnFull}} {
		if e.d.Kind != DestQueue || e.d.Queue == name {
			continue
		}
		if loop, _ := p.overflowLoop(start, e.d.Queue, append(path, name), seen); loop != nil {
			return loop, e.key
		}
	}
	return nil, ""
}

// checkStore: redis settings go with kind redis, which needs an address.
func (p *parser) checkStore() {
	_, hasRedis := p.at["store.redis"]
	switch st := p.c.Store; {
	case st.Kind == StoreRedis && !hasRedis:
		p.problemAt("store.kind", "kind redis needs store.redis with an address")
	case st.Kind == StoreMemory && hasRedis:
		p.problemAt("store.redis", "redis settings are given but store.kind is memory (set kind: redis to use them)")
	}
}
