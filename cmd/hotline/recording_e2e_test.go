package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// readRecording reads a call recording: its left and right channels, and
// the file's SHA-256.
func readRecording(t *testing.T, path string) (left, right []int16, sum string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 44 || string(b[0:4]) != "RIFF" || string(b[8:16]) != "WAVEfmt " || string(b[36:40]) != "data" {
		t.Fatalf("%s is not a WAV file", path)
	}
	if ch, rate, bits := binary.LittleEndian.Uint16(b[22:]), binary.LittleEndian.Uint32(b[24:]), binary.LittleEndian.Uint16(b[34:]); ch != 2 || rate != 8000 || bits != 16 {
		t.Fatalf("%s: %d channels, %d Hz, %d bits; want stereo 8000 Hz 16-bit", path, ch, rate, bits)
	}
	if n := binary.LittleEndian.Uint32(b[40:]); int(n) != len(b)-44 {
		t.Fatalf("%s: the header says %d bytes of audio, the file has %d", path, n, len(b)-44)
	}
	for i := 44; i+4 <= len(b); i += 4 {
		left = append(left, int16(binary.LittleEndian.Uint16(b[i:])))
		right = append(right, int16(binary.LittleEndian.Uint16(b[i+2:])))
	}
	h := sha256.Sum256(b)
	return left, right, hex.EncodeToString(h[:])
}

// zeroRun is the longest run of 20 ms frames of x that are all silence.
func zeroRun(x []int16) int {
	best, run := 0, 0
	for i := 0; i+160 <= len(x); i += 160 {
		run++
		for _, v := range x[i : i+160] {
			if v != 0 {
				run = 0
				break
			}
		}
		best = max(best, run)
	}
	return best
}

// TestRecording: a queue with record: true records its call in stereo,
// the caller's 1 kHz on the left and the agent's 600 Hz on the right. The
// agent pauses with *7 on the phone and the API resumes: the stretch is
// silence on both sides and an entry in the record. The event stream
// has the call's IVR outcome, offer, answer, recording and end. The record names the
// file, its length (the talk time) and its hash; pausing a call that is
// not recorded, or twice, is refused.
func TestRecording(t *testing.T) {
	t.Parallel()
	const hold = 25 * time.Second // the caller's BYE ends the call
	agent, agentSIP := rtpParty(t, 1)
	e := startEngine(t, centreOpts{Seats: 1, RTPTimeout: "60s", Extra: "queues:\n  - name: general\n    record: true\n"})
	evs, _ := eventStream(t, e, "?types=call.ivr,call.offered,call.answered,recording.ready,call.ended", "")
	caller, _ := callerTalking(t, e, hold, agent, agentSIP)
	var calls []struct{ ID string }
	apiGet(t, e, "calls", &calls)
	if len(calls) != 1 {
		t.Fatalf("calls %+v, want one", calls)
	}
	path := "/api/v1/calls/" + calls[0].ID + "/recording"
	if got := apiStatus(t, e, "POST", path, `{"action":"resume"}`, testToken); got != 409 {
		t.Errorf("resume while not paused: %d, want 409", got)
	}
	if got := apiStatus(t, e, "POST", path, `{"action":"stop"}`, testToken); got != 400 {
		t.Errorf("an unknown action: %d, want 400", got)
	}
	if got := apiStatus(t, e, "POST", "/api/v1/calls/nope/recording", `{"action":"pause"}`, testToken); got != 404 {
		t.Errorf("an unknown call: %d, want 404", got)
	}
	agent.SendTone(netip.AddrPort{}, 0, 600, 2*time.Second)
	agent.SendDTMF(netip.AddrPort{}, 101, '*')
	agent.SendDTMF(netip.AddrPort{}, 101, '7')
	agent.SendTone(netip.AddrPort{}, 0, 600, 2*time.Second) // paused
	if err := agent.WaitSent(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	if got := apiStatus(t, e, "POST", path, `{"action":"pause"}`, testToken); got != 409 {
		t.Errorf("pause while paused (by *7): %d, want 409", got)
	}
	if got := apiStatus(t, e, "POST", path, `{"action":"resume"}`, testToken); got != 200 {
		t.Fatalf("resume: %d, want 200", got)
	}
	agent.SendTone(netip.AddrPort{}, 0, 600, 2*time.Second)
	if err := agent.WaitSent(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	if res := caller.Wait(); res.Successful != 1 {
		t.Fatalf("caller: %s", res)
	}
	rec := e.waitRecords(1, 90*time.Second)[0]
	for _, want := range []string{"call.ivr", "call.offered", "call.answered", "recording.ready", "call.ended"} {
		if ev := nextSSE(t, evs); ev.typ != want {
			t.Fatalf("event %s, want %s: %s", ev.typ, want, ev.data)
		}
	}
	if rec.Recording == "" || rec.RecordingStatus != "complete" || len(rec.RecordingSHA256) != 64 {
		t.Fatalf("record: recording %q, status %q, sha256 %q", rec.Recording, rec.RecordingStatus, rec.RecordingSHA256)
	}
	if want := filepath.Join("recordings", time.Now().Format(time.DateOnly), rec.CallID+".wav"); rec.Recording != want {
		t.Errorf("recording at %q, want %q", rec.Recording, want)
	}
	file := filepath.Join(e.dir, "data", rec.Recording)
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("recording file: %v, %v (want mode 0600)", fi, err)
	}
	left, right, sum := readRecording(t, file)
	if sum != rec.RecordingSHA256 {
		t.Errorf("the file's sha256 %s, the record's %s", sum, rec.RecordingSHA256)
	}
	if ms := int64(len(left)) / 8; ms != rec.RecordingMs || rec.RecordingMs < rec.TalkMs-1000 || rec.RecordingMs > rec.TalkMs+200 {
		t.Errorf("recording %d ms (file %d ms), talk %d ms: want the talk time", rec.RecordingMs, ms, rec.TalkMs)
	}
	if len(rec.RecordingPauses) != 1 || rec.RecordingPauses[0].By != "agent" || rec.RecordingPauses[0].Ms < 1500 {
		t.Fatalf("recording_pauses %+v, want one of the agent, at least 1.5 s", rec.RecordingPauses)
	}
	// The caller talks throughout: on the left, silence is the pause.
	p := rec.RecordingPauses[0]
	if z := zeroRun(left); z*20 < 1500 || int64(z*20) > p.Ms+100 {
		t.Errorf("the longest silence on the left is %d ms; the pause was %d ms", z*20, p.Ms)
	}
	from, to := int(p.AtMs)*8, int(p.AtMs+p.Ms)*8
	if zl, zr := zeroRun(left[from+800:to-800]), zeroRun(right[from+800:to-800]); zl*160 < to-from-1600-160 || zr*160 < to-from-1600-160 {
		t.Errorf("inside the pause, silent runs of %d and %d frames, want all of it", zl, zr)
	}
	before := from - 8000 // the second before the pause: both talk
	if before < 0 {
		t.Fatalf("the pause began %d ms into the recording", p.AtMs)
	}
	for _, c := range []struct {
		side      string
		x         []int16
		want, not float64
	}{
		{"left", left[before:from], 1000, 600},
		{"right", right[before:from], 600, 1000},
		{"left after the pause", left[to+800 : to+8800], 1000, 600},
		{"right after the pause", right[to+800 : to+8800], 600, 1000},
	} {
		if s := toneShare(c.x, c.want); s < 0.5 {
			t.Errorf("%s: %v Hz share %.2f, want most of it", c.side, c.want, s)
		}
		if s := toneShare(c.x, c.not); s > 0.05 {
			t.Errorf("%s: %v Hz share %.2f, want none", c.side, c.not, s)
		}
	}
}

// TestRecordingDiskFull: the recordings' disk fills up (a 64 KiB tmpfs,
// about 2 s of stereo audio) in the middle of a recorded call. The
// recording ends there, the call does not: the caller and the agent talk
// on until the caller hangs up, and the record says the recording failed.
func TestRecordingDiskFull(t *testing.T) {
	t.Parallel()
	const hold = 12 * time.Second
	agent, agentSIP := rtpParty(t, 1)
	e := startEngine(t, centreOpts{Seats: 1, RTPTimeout: "60s", Extra: "queues:\n  - name: general\n    record: true\n"})
	dir := filepath.Join(e.dir, "data", "recordings")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	caller, peer := callerTalking(t, e, hold, agent, agentSIP)
	agent.SendTone(netip.AddrPort{}, 0, 600, hold)
	if res := caller.Wait(); res.Successful != 1 {
		t.Fatalf("caller: %s", res)
	}
	rec := e.waitRecords(1, 30*time.Second)[0]
	if rec.EndReason != "answered" || rec.HangupBy != "caller" || rec.RecordingStatus != "failed" || rec.Recording == "" {
		t.Fatalf("record: end %q by %q, recording %q status %q; want answered by the caller, the recording failed",
			rec.EndReason, rec.HangupBy, rec.Recording, rec.RecordingStatus)
	}
	if rec.TalkMs < 5000 {
		t.Errorf("talk %d ms: the call should have gone on past the full disk", rec.TalkMs)
	}
	// The caller heard the agent after the disk was full.
	if s := toneShare(peer.Received()[len(peer.Received())-16000:len(peer.Received())-8000], 600); s < 0.5 {
		t.Errorf("near the end the caller hears 600 Hz at share %.2f", s)
	}
}
