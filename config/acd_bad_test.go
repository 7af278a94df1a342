package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

// acdYAML adds the acd, queues and store sections to baseYAML; the rows
// below edit it. Line 25 is "acd:", 31 "queues:", 47 "store:".
// The trunk gets an outbound address (callbacks need one), on the same lines.
var acdYAML = strings.Replace(baseYAML, "  - name: carrier\n    acl: [127.0.0.1/32]",
	"  - {name: carrier, outbound: \"sip:127.0.0.1:5070\",\n     acl: [127.0.0.1/32]}", 1) + `acd:
  feature_codes:
    login: "*21"
    reasons: {1: break, 2: lunch}
  max_misses: 2
  stale_offer: 90s
queues:
  - name: general
    min_level: 3
    strategy: skill_level
    wrap_up: 10s
    max_wait: 120s
    on_max_wait: callback
    callback: true
    announce_every: 30s
    escalation:
      - {after: 30s, min_level: 1}
      - {after: 60s, skills: [market], queues: [complaints]}
  - name: complaints
    skill: market
    max_length: 10
    on_full: queue general
store:
  kind: redis
  redis: {address: 127.0.0.1:6379, db: 2}
  node: node-a
`

// editACD replaces each old with new in acdYAML (pairs); old must occur once.
func editACD(t testing.TB, pairs ...string) string {
	t.Helper()
	return editText(t, acdYAML, pairs...)
}

// acdBadCases are the refused acd, queues and store sections, as in badCases.
func acdBadCases(t testing.TB) []badCase {
	return []badCase{
		{"unknown strategy", editACD(t, "strategy: skill_level", "strategy: fastest"), []string{
			`34: queues[0].strategy: unknown strategy "fastest" (known: longest_idle, fewest_calls, round_robin, skill_level, ring_all)`,
		}},
		{"queue serves an unknown skill", editACD(t, "skill: market\n    max_length", "skill: roads\n    max_length"), []string{
			`44: queues[1].skill: unknown skill "roads" (skills: [general market])`,
		}},
		{"duplicate queue name", editACD(t, "  - name: complaints", "  - name: general"), []string{
			`42: queues[0].escalation[1].queues[0]: unknown queue "complaints" (queues: general, market)`,
			`43: queues[1].name: queue "general" is already defined (line 32)`,
		}},
		{"queue without a name", editACD(t, "  - name: complaints", "  - id: complaints"), []string{
			`42: queues[0].escalation[1].queues[0]: unknown queue "complaints"`,
			`43: queues[1]: unknown key "id" (known: announce_every, callback, callback_attempts, callback_expiry, callback_key, callback_retry_after, default_handle, escalation, `,
			`43: queues[1]: missing required key "name"`,
		}},
		{"queue without a skill", editACD(t, "    skill: market\n    max_length", "    max_length"), []string{
			`43: queues[1]: queue "complaints" is not named after a skill, so it needs a skill (skills: [general market])`,
		}},
		{"queue named after another skill", editACD(t, "store:\n", "  - {name: market, skill: general}\nstore:\n"), []string{
			`47: queues[2].skill: queue "market" is named after a skill, so it must serve it (lines and IVR queue nodes of skill market land in it), not "general"`,
		}},
		{"min_level out of range", editACD(t, "min_level: 3", "min_level: 11"), []string{
			"33: queues[0].min_level: must be an integer from 1 to 10, not 11",
		}},
		{"overflow loop", editACD(t, "on_max_wait: callback", "on_max_wait: queue complaints"), []string{
			"37: queues[0].on_max_wait: overflow loop: general -> complaints -> general; a caller would bounce between these queues forever",
		}},
		{"longer overflow loop", editACD(t, "on_full: queue general",
			"on_full: queue review\n  - {name: review, skill: market, max_length: 5, on_full: queue general}",
			"on_max_wait: callback", "on_max_wait: queue complaints"), []string{
			"37: queues[0].on_max_wait: overflow loop: general -> complaints -> review -> general",
		}},
		{"overflow to itself", editACD(t, "on_full: queue general", "on_full: queue complaints"), []string{
			`46: queues[1].on_full: queue "complaints" cannot overflow to itself`,
		}},
		{"overflow to an unknown queue", editACD(t, "on_full: queue general", "on_full: queue nowhere"), []string{
			`46: queues[1].on_full: unknown queue "nowhere" (queues: general, complaints, market)`,
		}},
		{"callback overflow without callback", editACD(t, "    callback: true\n", ""), []string{
			"37: queues[0].on_max_wait: callback needs callback: true on the queue",
		}},
		{"callback without an outbound trunk", editACD(t, `outbound: "sip:127.0.0.1:5070",`, ""), []string{
			"38: queues[0].callback: callback needs a trunk with an outbound address to call back through (trunks[].outbound: sip:HOST:PORT)",
		}},
		{"outbound with a user part", editACD(t, `"sip:127.0.0.1:5070"`, `"sip:12345@127.0.0.1:5070"`), []string{
			`11: trunks[0].outbound: "sip:12345@127.0.0.1:5070": the carrier's address takes no user part (the number called is put there), e.g. sip:10.1.2.3:5060`,
			"38: queues[0].callback: callback needs a trunk with an outbound address",
		}},
		{"outbound not a SIP URI", editACD(t, `"sip:127.0.0.1:5070"`, `"127.0.0.1:5070"`), []string{
			`11: trunks[0].outbound: "127.0.0.1:5070" is not a SIP URI such as sip:12333@10.1.2.3:5060: it must start with sip:`,
			"38: queues[0].callback: callback needs a trunk with an outbound address",
		}},
		{"callback key not a key", editACD(t, "    callback: true\n", "    callback: true\n    callback_key: 12\n"), []string{
			`39: queues[0].callback_key: "12" must be one key: 0-9, * or #`,
		}},
		{"callback key without callback", editACD(t, "    on_full: queue general\n", "    on_full: queue general\n    callback_key: \"*\"\n"), []string{
			"47: queues[1].callback_key: needs callback: true on the queue",
		}},
		{"callback attempts", editACD(t, "    callback: true\n", "    callback: true\n    callback_attempts: 0\n    callback_retry_after: 500ms\n"), []string{
			"39: queues[0].callback_attempts: must be an integer from 1 to 10, not 0",
			"40: queues[0].callback_retry_after:",
		}},
		{"callback retries without callback", editACD(t, "    on_full: queue general\n", "    on_full: queue general\n    callback_attempts: 3\n    callback_retry_after: 2m\n"), []string{
			"47: queues[1].callback_attempts: needs callback: true on the queue",
			"48: queues[1].callback_retry_after: needs callback: true on the queue",
		}},
		{"callback expiry", editACD(t, "    callback: true\n", "    callback: true\n    callback_expiry: 0\n"), []string{
			"39: queues[0].callback_expiry:",
		}},
		{"callback expiry without callback", editACD(t, "    on_full: queue general\n", "    on_full: queue general\n    callback_expiry: 1h\n"), []string{
			"47: queues[1].callback_expiry: needs callback: true on the queue",
		}},
		{"callback numbers that are not", editACD(t, "store:\n", "callback_numbers:\n  - _1[3-9]XXXXXXXXX\n  - +8613800138000\n  - _00X.\n  - _1[9-3]X\n  - _1[35X\n  - 95598\n  - anonymous\nstore:\n"), []string{
			`49: callback_numbers[1]: "+8613800138000" must be digits, or a pattern starting with _ (X Z N [1-5] . !)`,
			`51: callback_numbers[3]: "_1[9-3]X" has a bad [set]: digits and ranges such as [3-9] or [135]`,
			`52: callback_numbers[4]: "_1[35X" has a bad [set]`,
			`54: callback_numbers[6]: "anonymous" must be digits, or a pattern starting with _`,
		}},
		{"callback numbers empty", editACD(t, "store:\n", "callback_numbers: []\nstore:\n"), []string{
			`47: callback_numbers: must list at least one number pattern`,
		}},
		{"max_wait without on_max_wait", editACD(t, "    on_max_wait: callback\n", ""), []string{
			"36: queues[0].max_wait: needs on_max_wait: where a call goes after waiting that long",
		}},
		{"on_max_wait without max_wait", editACD(t, "    max_wait: 120s\n", ""), []string{
			"36: queues[0].on_max_wait: needs max_wait: how long a call waits before it goes there",
		}},
		{"on_full without max_length", editACD(t, "    max_length: 10\n", ""), []string{
			"45: queues[1].on_full: needs max_length: how many calls may wait before the queue is full",
		}},
		{"destinations that are not", editACD(t, "on_full: queue general", "on_full: voicemail",
			"on_max_wait: callback", "on_max_wait: queue"), []string{
			`37: queues[0].on_max_wait: "queue" needs exactly one word after queue (none, callback, queue NAME, target sip:URI or message PROMPT)`,
			`46: queues[1].on_full: "voicemail" is not a destination (none, callback, queue NAME, target sip:URI or message PROMPT)`,
		}},
		{"overflow target not a SIP URI", editACD(t, "on_full: queue general", "on_full: target 12333@127.0.0.1"), []string{
			`46: queues[1].on_full: "12333@127.0.0.1" is not a SIP URI such as sip:12333@10.1.2.3:5060: it must start with sip:`,
		}},
		{"overflow message missing", editACD(t, "on_full: queue general", "on_full: message full.wav"), []string{
			`46: queues[1].on_full: prompt "full.wav" in prompts/: not found`,
		}},
		{"escalation steps out of order", editACD(t, "{after: 30s, min_level: 1}", "{after: 90s, min_level: 4}",
			"skills: [market]", "skills: [roads]", "queues: [complaints]", "queues: [nowhere]"), []string{
			"41: queues[0].escalation[0].min_level: 4 does not widen: the level required is already 3",
			"42: queues[0].escalation[1].after: 1m0s must be later than the step before (1m30s)",
			`42: queues[0].escalation[1].skills[0]: unknown skill "roads" (skills: [general market])`,
			`42: queues[0].escalation[1].queues[0]: unknown queue "nowhere" (queues: general, complaints, market)`,
		}},
		{"escalation step that widens nothing", editACD(t, "{after: 30s, min_level: 1}", "{after: 30s}"), []string{
			"41: queues[0].escalation[0]: a step needs min_level, skills or queues (what it widens)",
		}},
		{"announcements too often", editACD(t, "announce_every: 30s", "announce_every: 5s"), []string{
			"39: queues[0].announce_every: must be 0 (no announcements) or at least 10s, not 5s",
		}},
		{"unknown queue key", editACD(t, "    wrap_up: 10s", "    wrapup: 10s"), []string{
			`35: queues[0]: unknown key "wrapup" (known: announce_every, callback, callback_attempts, callback_expiry, callback_key, callback_retry_after, default_handle, escalation, max_length, `,
		}},
		{"feature code not dialable as one", editACD(t, `login: "*21"`, `login: "21"`), []string{
			`27: acd.feature_codes.login: "21" must be 2 to 8 of 0-9, * and #, starting with * or #`,
		}},
		{"feature codes clash", editACD(t, `login: "*21"`, `login: "*14"`), []string{
			`27: acd.feature_codes.login: login ("*14") is also ready ("*14")`,
		}},
		{"feature code clashes with a monitoring code", editACD(t, `login: "*21"`, `login: "*3"`), []string{
			`27: acd.feature_codes.login: login ("*3") clashes with the supervisor's monitoring code "*31"<extension>`,
		}},
		{"feature code shadows a reason", editACD(t, `login: "*21"`, `login: "*131"`), []string{
			`28: acd.feature_codes.reasons.1: not_ready then 1 ("*131") is also login ("*131")`,
		}},
		{"bad reasons", editACD(t, "{1: break, 2: lunch}", "{x: break, 2: missed, 3: Lunch}"), []string{
			`28: acd.feature_codes.reasons.x: "x" is not a digit 0-9 (the key pressed after not_ready)`,
			`28: acd.feature_codes.reasons.2: "missed" is set by the engine after unanswered offers; agents cannot choose it`,
			`28: acd.feature_codes.reasons.3: "Lunch" must be a reason code made of a-z, 0-9 and _`,
		}},
		{"max_misses zero", editACD(t, "max_misses: 2", "max_misses: 0"), []string{
			"29: acd.max_misses: must be an integer from 1 to 100, not 0",
		}},
		{"stale offer within the ring timeout", editACD(t, "stale_offer: 90s", "stale_offer: 20s"), []string{
			"30: acd.stale_offer: 20s must be above sip.seat_ring_timeout (30s)",
		}},
		{"ring timeout above the default stale offer", edit(t, "sip:\n", "sip:\n  seat_ring_timeout: 3m\n"), []string{
			"3: sip.seat_ring_timeout: 3m0s must be below acd.stale_offer (2m0s, the default); raise acd.stale_offer too",
		}},
		{"unknown store kind", editACD(t, "kind: redis", "kind: etcd"), []string{
			`48: store.kind: unknown store kind "etcd" (known: memory, redis)`,
		}},
		{"redis without address", editACD(t, "{address: 127.0.0.1:6379, db: 2}", "{db: 2}"), []string{
			`49: store.redis: missing required key "address"`,
		}},
		{"redis address not HOST:PORT", editACD(t, "127.0.0.1:6379", "127.0.0.1"), []string{
			`49: store.redis.address: "127.0.0.1" is not HOST:PORT (e.g. 127.0.0.1:6379 or redis.internal:6379)`,
		}},
		{"redis settings on the memory store", editACD(t, "kind: redis", "kind: memory"), []string{
			"49: store.redis: redis settings are given but store.kind is memory (set kind: redis to use them)",
		}},
		{"redis store without settings", editACD(t, "  redis: {address: 127.0.0.1:6379, db: 2}\n", ""), []string{
			"48: store.kind: kind redis needs store.redis with an address",
		}},
		{"bad node name", editACD(t, "node: node-a", "node: node a"), []string{
			`50: store.node: "node a" must be made of letters, digits, -, _ and .`,
		}},
	}
}

func TestParseRefusesBadACD(t *testing.T) {
	if probs, _ := problems(t, acdYAML); probs != nil {
		t.Fatalf("acdYAML refused:\n%v", (&Errors{probs}).Error())
	}
	cases := acdBadCases(t)
	if len(cases) < 12 {
		t.Fatalf("only %d kinds of bad ACD config", len(cases))
	}
	checkBadCases(t, cases)
}

// TestACDValues checks what a valid file decodes to, implied queues included.
func TestACDValues(t *testing.T) {
	probs, c := problems(t, acdYAML)
	if probs != nil {
		t.Fatalf("acdYAML refused:\n%v", (&Errors{probs}).Error())
	}
	a := c.ACD
	if a.Features.Login != "*21" || a.Features.Logout != "*12" || a.Features.NotReady != "*13" || a.Features.Ready != "*14" ||
		len(a.Features.Reasons) != 2 || a.Features.Reasons["2"] != "lunch" {
		t.Errorf("features %+v", a.Features)
	}
	if a.MaxMisses != 2 || a.StaleOffer != 90*time.Second || a.RetryTried != 10*time.Second ||
		a.CallbackLead != 10*time.Second || !a.AutoLogin {
		t.Errorf("acd %+v", a)
	}
	if len(c.Queues) != 3 {
		t.Fatalf("queues %+v", c.Queues)
	}
	g, cp, m := c.Queues[0], c.Queues[1], c.Queues[2]
	if g.Name != "general" || g.Skill != "general" || g.MinLevel != 3 || g.Strategy != StrategySkillLevel ||
		g.WrapUp != 10*time.Second || g.MaxWait != 2*time.Minute || g.OnMaxWait.Kind != DestCallback || !g.Callback ||
		g.AnnounceEvery != 30*time.Second || g.ServiceLevel != 15*time.Second || g.DefaultHandle != 3*time.Minute || g.Implied {
		t.Errorf("general %+v", g)
	}
	if len(g.Escalation) != 2 || g.Escalation[0].MinLevel != 1 || g.Escalation[1].After != time.Minute ||
		g.Escalation[1].Skills[0] != "market" || g.Escalation[1].Queues[0] != "complaints" {
		t.Errorf("escalation %+v", g.Escalation)
	}
	if cp.Skill != "market" || cp.MaxLength != 10 || cp.OnFull != (Destination{Kind: DestQueue, Queue: "general"}) ||
		cp.Strategy != StrategyLongestIdle || cp.MinLevel != 1 || cp.OnMaxWait.Kind != DestNone {
		t.Errorf("complaints %+v", cp)
	}
	if m.Name != "market" || m.Skill != "market" || !m.Implied || m.ServiceLevel != 15*time.Second {
		t.Errorf("implied market %+v", m)
	}
	if st := c.Store; st.Kind != StoreRedis || st.Redis != (Redis{Address: "127.0.0.1:6379", DB: 2, Prefix: "{hotline}:"}) || st.Node != "node-a" {
		t.Errorf("store %+v", st)
	}
}

// TestACDDefaults: without the sections, the defaults, one queue per skill
// and the memory store on a node named after the host.
func TestACDDefaults(t *testing.T) {
	probs, c := problems(t, baseYAML)
	if probs != nil {
		t.Fatalf("baseYAML refused:\n%v", (&Errors{probs}).Error())
	}
	if f := c.ACD.Features; f.Login != "*11" || f.NotReady != "*13" || len(f.Reasons) != 4 || f.Reasons["1"] != "break" {
		t.Errorf("features %+v", f)
	}
	if c.ACD.MaxMisses != 3 || c.ACD.StaleOffer != 2*time.Minute || !c.ACD.AutoLogin {
		t.Errorf("acd %+v", c.ACD)
	}
	if len(c.Queues) != 2 || c.Queues[0].Name != "general" || c.Queues[1].Skill != "market" || !c.Queues[1].Implied ||
		c.Queues[0].Strategy != StrategyLongestIdle || c.Queues[0].MinLevel != 1 {
		t.Errorf("queues %+v", c.Queues)
	}
	host, _ := os.Hostname()
	if c.Store.Kind != StoreMemory || c.Store.Node == "" || (host != "" && c.Store.Node != host) {
		t.Errorf("store %+v (host %q)", c.Store, host)
	}
	if q, ok := c.Queue("market"); !ok || q.Skill != "market" {
		t.Errorf("Queue(market) = %+v, %v", q, ok)
	}
}

// TestDestinations checks every written form of an overflow destination.
func TestDestinations(t *testing.T) {
	for text, want := range map[string]Destination{
		"none":                            {},
		"callback":                        {Kind: DestCallback},
		"queue general":                   {Kind: DestQueue, Queue: "general"},
		"target sip:12315@127.0.0.1:5093": {Kind: DestTarget, Target: "sip:12315@127.0.0.1:5093"},
		"message invalid.wav":             {Kind: DestMessage, Message: "invalid.wav"},
	} {
		probs, c := problems(t, editACD(t, "on_full: queue general", "on_full: "+text, "    max_length: 10\n", "    max_length: 10\n    callback: true\n"))
		if probs != nil {
			t.Errorf("%q refused:\n%v", text, (&Errors{probs}).Error())
			continue
		}
		if got := c.Queues[1].OnFull; got != want {
			t.Errorf("%q = %+v, want %+v", text, got, want)
		}
	}
}
