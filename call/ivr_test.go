package call

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/ivr"
	"github.com/hotline-cc/hotline/media"
)

// centreHead starts the test centres of promptedEngine: loopback, one skill.
const centreHead = `centre: test
sip: {address: "127.0.0.1:0"}
rtp: {address: 127.0.0.1}
http: {address: "127.0.0.1:0", token: test-token}
skills: [general]
`

// ivrYAML: 12345 asks for an ID number (a sensitive collect) and queues;
// 12346 is a menu whose key 9 repeats it.
const ivrYAML = centreHead + `lines:
  - {number: "12345", mode: main, skill: general, ivr: id}
  - {number: "12346", mode: main, skill: general, ivr: loop}
ivr:
  id:
    start: ask
    nodes:
      ask: {type: collect, prompts: [ask.wav], var: card, min: 4, max: 6, sensitive: true, next: queue, default: queue}
      queue: {type: queue}
  loop:
    start: menu
    nodes:
      menu: {type: menu, prompts: [menu.wav], choices: {9: menu, 1: queue}, default: queue}
      queue: {type: queue}
`

// shortWAV is 20 ms of silence, 8 kHz mono 16-bit.
func shortWAV() []byte {
	var b bytes.Buffer
	data := make([]byte, 320)
	b.WriteString("RIFF")
	_ = binary.Write(&b, binary.LittleEndian, uint32(36+len(data)))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(8000), uint32(16000), uint16(2), uint16(16)} {
		_ = binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	_ = binary.Write(&b, binary.LittleEndian, uint32(len(data)))
	b.Write(data)
	return b.Bytes()
}

// ivrCall is a call to number answered into its IVR walk, its caller's
// media a real session on loopback (sending nowhere), its logs in logs.
// The test is the call's goroutine: it hands events to handle itself.
func ivrCall(t *testing.T, number string, logs *syncBuffer) (*Call, *recorder) {
	t.Helper()
	e, rec := promptedEngine(t, ivrYAML, "welcome.wav", "hold.wav", "ask.wav", "menu.wav", "goodbye.wav")
	e.log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := startedCall(t, e, "13800000001", number)
	return c, rec
}

// promptedEngine is a test engine on the config text whose prompt folder
// holds each of prompts (20 ms of silence), with media on loopback.
func promptedEngine(t *testing.T, text string, prompts ...string) (*Engine, *recorder) {
	t.Helper()
	fsys := fstest.MapFS{}
	for _, name := range prompts {
		fsys["prompts/"+name] = &fstest.MapFile{Data: shortWAV()}
	}
	cfg, err := config.Parse("test.yaml", []byte(text), fsys)
	if err != nil {
		t.Fatal(err)
	}
	e, rec := testEngine(t, cfg)
	ps, err := loadPrompts(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.prompts.Store(ps)
	m, err := media.NewManager(media.Config{Address: netip.MustParseAddr("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	e.opts.Media = m
	return e, rec
}

// startedCall is a call from caller to number on e, answered into its IVR
// walk (its caller's media a real session sending nowhere).
func startedCall(t *testing.T, e *Engine, caller, number string) *Call {
	t.Helper()
	c := newCall(e, &fakeLeg{caller: caller, dialled: number})
	var err error
	if c.in.m, err = e.opts.Media.NewSession(media.SessionConfig{}); err != nil {
		t.Fatal(err)
	}
	c.line, _ = e.config().Line(number)
	if r := c.startIVR(); r != nil {
		t.Fatalf("IVR ended at once: %s", r.name)
	}
	return c
}

// TestSensitiveDigitsMasked: the digits of an ID number typed into a
// collect node marked sensitive are kept in the record as one x each and
// never logged; digits pressed later (in the queue) are kept as they are,
// up to maxDigits, the rest counted.
func TestSensitiveDigitsMasked(t *testing.T) {
	var logs syncBuffer
	c, rec := ivrCall(t, "12345", &logs)
	for _, d := range "110105" {
		if r := c.handle(evDTMF{digit: d, via: "rfc4733"}); r != nil {
			t.Fatalf("call ended: %s", r.name)
		}
	}
	if c.st != stWaiting {
		t.Fatalf("state %s after the ID number, want waiting", c.st)
	}
	for range 100 {
		c.handle(evDTMF{digit: '7', via: "info"})
	}
	c.end(endAbandoned)
	r := rec.wait(t)
	if got, want := strings.Join(r.DTMF, ""), "xxxxxx"+strings.Repeat("7", maxDigits-6); got != want {
		t.Errorf("record dtmf %q, want %q", got, want)
	}
	if c.digitsOver != 106-maxDigits || !strings.Contains(logs.String(), "beyond_record=42") {
		t.Errorf("%d digits beyond the record, want %d, logged at the end", c.digitsOver, 106-maxDigits)
	}
	l := logs.String()
	if strings.Contains(l, "110105") || strings.Contains(l, "digit=1") || strings.Contains(l, "card") {
		t.Errorf("the ID number reached the log:\n%s", l)
	}
	if strings.Contains(l, "level=INFO msg=dtmf") {
		t.Errorf("a digit logged at info:\n%s", l)
	}
}

// TestIVRLoopEnds: a caller pressing "repeat" forever is told goodbye and
// hung up with ivr_loop once the walk's path is full; the record keeps the
// path bounded.
func TestIVRLoopEnds(t *testing.T) {
	var logs syncBuffer
	c, rec := ivrCall(t, "12346", &logs)
	var r *reason
	presses := 0
	for ; presses < 500 && r == nil && c.closing == nil; presses++ {
		r = c.handle(evDTMF{digit: '9', via: "rfc4733"})
	}
	if r != nil || c.closing == nil {
		t.Fatalf("no goodbye before the end (reason %v)", r)
	}
	if r = c.handle(evPromptDone{gen: c.playGen}); r == nil || r.name != "ivr_loop" {
		t.Fatalf("after the goodbye: %v, want ivr_loop", r)
	}
	c.end(*r)
	got := rec.wait(t)
	if got.EndReason != "ivr_loop" || len(got.IVRPath) != ivr.MaxPath || len(got.DTMF) != presses {
		t.Errorf("record: end_reason %q, %d path entries, %d digits of %d", got.EndReason, len(got.IVRPath), len(got.DTMF), presses)
	}
}
