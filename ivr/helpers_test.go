package ivr

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hotline-cc/hotline/config"
)

// testYAML is a small centre with one tree per kind of walk.
const testYAML = `centre: test
sip: {address: "127.0.0.1:0"}
rtp: {address: 127.0.0.1}
http: {address: "127.0.0.1:0", token: test-token}
skills: [general, social_security, supervision, environment, vip]
prompts:
  sets: {zh: ., yue: yue}
lines:
  - {number: "12345", mode: main, skill: general, ivr: front}
  - {number: "12333", mode: parallel, skill: social_security, target: "sip:12333@127.0.0.1:5092", hours: office, ivr: ss}
  - number: "12369"
    mode: merge
    skill: environment
    announcement: {prompt: transition.wav, from: 2026-09-01, until: 2027-03-01}
  - {number: "12301", mode: forward, skill: general, ivr: timed}
  - {number: "12302", mode: forward, skill: general, ivr: id}
  - {number: "12303", mode: forward, skill: general, ivr: vip}
hours:
  office:
    mon-fri: ["08:30-12:00", "13:30-17:30"]
  duty:
    mon-sun: ["00:00-24:00"]
    holiday: ["09:00-17:00"]
calendar:
  holidays: [2026-10-01..2026-10-07, "2026-09-25..2026-09-27"]
  workdays: [2026-09-20, {date: 2026-10-10, as: fri}]
ivr:
  front:
    start: greeting
    nodes:
      greeting:
        type: menu
        prompts: [welcome.wav]
        timeout: 0s
        retries: 0
        choices: {1: consult, 2: complaint, 3: help, 9: supervision}
        default: intake
      consult: {type: set, tag: consult, next: intake}
      complaint: {type: set, tag: complaint, priority: 5, next: intake}
      help: {type: set, tag: help, priority: 3, next: intake}
      supervision: {type: queue, skill: supervision}
      intake: {type: queue}
  ss:
    start: closed
    nodes:
      closed: {type: play, prompts: [closed.wav], barge_in: true, next: menu}
      menu:
        type: menu
        prompts: [ss-menu.wav]
        invalid: [invalid.wav]
        no_input: [no-input.wav]
        choices: {1: pension, 8: cantonese, 9: menu, 0: agent}
        default: agent
      cantonese: {type: language, set: yue, next: menu}
      pension:
        type: menu
        prompts: [ss-pension.wav]
        timeout: 3s
        retries: 0
        choices: {1: enquiry, "*": menu}
        default: agent
      enquiry: {type: set, var: topic, value: pension-enquiry, next: queue}
      agent: {type: play, prompts: [hold-on.wav], next: queue}
      queue: {type: queue, skill: social_security}
  timed:
    start: when
    nodes:
      when: {type: time, hours: office, open: day, closed: night, holiday: festive}
      day: {type: queue, skill: general}
      night: {type: hangup, reason: closed}
      festive: {type: transfer, target: "sip:duty@127.0.0.1:5099"}
  id:
    start: ask
    nodes:
      ask:
        type: collect
        prompts: [enter-id.wav]
        var: card
        min: 4
        max: 6
        retries: 1
        invalid: [invalid.wav]
        default: bye
        next: queue
        sensitive: true
      queue: {type: queue}
      bye: {type: play, prompts: [goodbye.wav], next: end}
      end: {type: hangup}
  vip:
    start: who
    nodes:
      who:
        type: caller
        lists:
          - {numbers: ["13800000001", "+8613800000002"], priority: 8, next: vip}
          - {numbers: ["0571*"], next: local}
        default: queue
      vip: {type: queue, skill: vip}
      local: {type: set, var: region, value: hangzhou, next: queue}
      queue: {type: queue}
`

// wav is a 44-byte 8 kHz mono 16-bit PCM WAV header.
func wav() []byte {
	b := make([]byte, 44)
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], 36)
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], 1)
	binary.LittleEndian.PutUint32(b[24:], 8000)
	binary.LittleEndian.PutUint32(b[28:], 16000)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	return b
}

func testConfig(t testing.TB) *config.Config {
	t.Helper()
	fsys := fstest.MapFS{}
	for _, name := range strings.Fields("welcome.wav hold.wav transition.wav closed.wav ss-menu.wav invalid.wav " +
		"no-input.wav ss-pension.wav hold-on.wav enter-id.wav goodbye.wav yue/ss-menu.wav yue/hold-on.wav") {
		fsys["prompts/"+name] = &fstest.MapFile{Data: wav()}
	}
	c, err := config.Parse("test.yaml", []byte(testYAML), fsys)
	if err != nil {
		t.Fatalf("test config refused:\n%v", err)
	}
	return c
}

// cst is China Standard Time (UTC+8, no daylight saving).
var cst = time.FixedZone("CST", 8*3600)

// at parses "2006-01-02 15:04" in China Standard Time.
func at(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, cst)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// render writes an Action compactly: "-" (no change), "queue:SKILL:PRIO",
// "transfer:TARGET", "hangup:REASON", or "play a.wav,b.wav [barge] [timer D]"
// / "timer D".
func render(a Action) string {
	switch {
	case a.NoChange():
		return "-"
	case a.Done != nil:
		o := a.Done
		switch o.Kind {
		case KindQueue:
			return fmt.Sprintf("queue:%s:%d", o.Skill, o.Priority)
		case KindTransfer:
			return "transfer:" + o.Target
		}
		return "hangup:" + o.Reason
	}
	var parts []string
	if len(a.Play) > 0 {
		parts = append(parts, "play "+strings.Join(a.Play, ","))
	}
	if a.BargeIn {
		parts = append(parts, "barge")
	}
	if a.Timer > 0 {
		parts = append(parts, "timer "+a.Timer.String())
	}
	return strings.Join(parts, " ")
}

// feed sends one event to s: "start", "done" (prompts done), "timeout", or
// a digit.
func feed(t testing.TB, s *Session, ev string) Action {
	t.Helper()
	switch ev {
	case "start":
		return s.Start()
	case "done":
		return s.PromptsDone()
	case "timeout":
		return s.Timeout()
	}
	if len(ev) != 1 {
		t.Fatalf("bad event %q", ev)
	}
	return s.Digit(rune(ev[0]))
}
