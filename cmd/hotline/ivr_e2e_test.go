package main

import (
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
	"github.com/hotline-cc/hotline/records"
)

// Instants for the demo's calendar (Asia/Shanghai office hours).
const (
	mondayMorning   = "2026-11-23T10:00:00+08:00" // a working day, in hours
	saturdayMorning = "2026-11-21T10:00:00+08:00" // weekend: out of hours
	nationalDay     = "2026-10-02T10:00:00+08:00" // a Friday, public holiday
	makeUpSaturday  = "2026-10-10T10:00:00+08:00" // a Saturday worked (调休)
	afterMerge      = "2027-04-01T10:00:00+08:00" // after 12369's transition notice ended
)

// press waits until the caller's IVR walk has reached a node whose path
// matches pathRE (the engine logs each IVR step), then sends the digit as
// RFC 4733 from the caller.
func press(t *testing.T, e *engine, peer *testpeer.RTPPeer, pathRE string, digit rune, seen int) {
	t.Helper()
	if _, err := e.log.waitCount(`msg=ivr .*path=\S*`+pathRE, seen, 20*time.Second); err != nil {
		t.Fatalf("IVR never reached %s: %v\n%s", pathRE, err, e.log.tail(30))
	}
	peer.SendDTMF(netip.AddrPort{}, 101, digit)
}

// recordWith finds the record of the call whose ivr_path holds pathElem,
// failing when there is none.
func recordWith(t *testing.T, recs []records.Record, pathElem string) records.Record {
	t.Helper()
	for _, r := range recs {
		if slices.Contains(r.IVRPath, pathElem) {
			return r
		}
	}
	t.Fatalf("no record whose ivr_path has %q: %+v", pathElem, recs)
	return records.Record{}
}

// TestFrontDoor: 12345 greets and queues; keys pressed during the greeting
// are shortcuts (2 complaint, with a higher priority; 9 the supervision
// line), no key is the general queue. The shortcut is the record's
// category (the IVR's tag).
func TestFrontDoor(t *testing.T) {
	t.Parallel()
	e := startDemo(t, demoOpts{})
	e.seat(t, 1001, testpeer.SeatOptions{}) // general, social_security
	e.seat(t, 1029, testpeer.SeatOptions{}) // general, supervision
	for i, tc := range []struct {
		digit    rune
		node     string
		skill    string
		seats    []string
		category string
	}{
		{'2', "complaint", "general", []string{"1001", "1029"}, "complaint"},
		{'9', "supervision", "supervision", []string{"1029"}, ""},
		{0, "intake", "general", []string{"1001", "1029"}, ""},
	} {
		p, peer := e.caller(t, "12345", "0", 12*time.Second)
		if tc.digit != 0 {
			press(t, e, peer, `greeting `, tc.digit, i+1)
		}
		if res := p.Wait(); res.ExitCode != 0 {
			t.Fatalf("sipp: %s", res)
		}
		r := recordWith(t, e.waitRecords(i+1, 10*time.Second), tc.node)
		if r.Skill != tc.skill || r.EndReason != "answered" || r.LineMode != "main" || !slices.Contains(tc.seats, r.Agent) || (tc.category != "" && r.Category != tc.category) {
			t.Errorf("%s: skill %q end %q mode %q agent %q category %q", tc.node, r.Skill, r.EndReason, r.LineMode, r.Agent, r.Category)
		}
	}
}

// Test12333OutOfHours: outside the department's hours the legacy line
// plays its multi-level menu: the caller hears the closed notice (decoded from
// RTP), chooses 1 pension then 1 enquiry and lands in the social-security
// queue; a second caller presses an invalid key and then nothing, and is
// queued by the menu's default after the retries.
func Test12333OutOfHours(t *testing.T) {
	t.Parallel()
	e := startDemo(t, demoOpts{Now: saturdayMorning})
	e.seat(t, 1001, testpeer.SeatOptions{})
	p, peer := e.caller(t, "12333", "0", 25*time.Second)
	press(t, e, peer, `closed>menu `, '1', 1)
	press(t, e, peer, `>pension `, '1', 1)
	if res := p.Wait(); res.ExitCode != 0 {
		t.Fatalf("sipp: %s", res)
	}
	r := recordWith(t, e.waitRecords(1, 10*time.Second), "pension-enquiry")
	if r.Skill != "social_security" || r.EndReason != "answered" || r.LineMode != "parallel" {
		t.Errorf("record: %+v", r)
	}
	if c := testpeer.BestCorrelation(peer.Received()[:8000*6], loadPCM(t, "closed-12333.wav")[:8000*2]); c < 0.8 {
		t.Errorf("caller did not hear the closed notice: correlation %.2f", c)
	}

	p2, peer2 := e.caller(t, "12333", "0", 40*time.Second)
	press(t, e, peer2, `closed>menu `, '7', 2)
	if res := p2.Wait(); res.ExitCode != 0 {
		t.Fatalf("sipp: %s", res)
	}
	recs := e.waitRecords(2, 10*time.Second)
	r2 := recs[len(recs)-1]
	if r2.Skill != "social_security" || !slices.Contains(r2.IVRPath, "queue") || !slices.Contains(r2.DTMF, "7") {
		t.Errorf("invalid key then timeout: path %v dtmf %v skill %q", r2.IVRPath, r2.DTMF, r2.Skill)
	}
}

// TestParallelAnswering: in the department's hours 12333 rings the
// department's own hotline first (SIPp as the department): answered, the
// caller talks to the department; not answered within the ring timeout, or
// busy, the caller falls back to the 12345 queue; the ring time and outcome
// are in the record. Out of hours, on a public holiday, the department is not
// rung; on a make-up working Saturday it is.
func TestParallelAnswering(t *testing.T) {
	t.Parallel()
	run := func(t *testing.T, now, scenario string) (*engine, records.Record, *testpeer.SippProc) {
		dept := testpeer.StartSipp(t, testpeer.SippOptions{
			Scenario: testpeer.ScenarioPath(t, scenario), Calls: 1, Timeout: 40 * time.Second,
		})
		e := startDemo(t, demoOpts{Now: now, Replace: map[string]string{
			"target: sip:12333@127.0.0.1:5092": "target: sip:12333@" + dept.Addr + "\n    ring_timeout: 3s",
		}})
		e.seat(t, 1001, testpeer.SeatOptions{})
		p, _ := e.caller(t, "12333", "0", 9*time.Second)
		if res := p.Wait(); res.ExitCode != 0 {
			t.Fatalf("sipp: %s\n%s", res, e.log.tail(30))
		}
		return e, e.waitRecords(1, 10*time.Second)[0], dept
	}
	t.Run("answered", func(t *testing.T) {
		// The department's own seat: a baresip phone that is not registered
		// with us, answers at once and speaks a 880 Hz tone.
		dept := testpeer.StartSeat(t, testpeer.SeatOptions{Extension: "12333", Password: "unused-pw", AutoAnswer: true, SineHz: 880})
		e := startDemo(t, demoOpts{Now: mondayMorning, Replace: map[string]string{
			"target: sip:12333@127.0.0.1:5092": "target: " + dept.URI,
		}})
		p, peer := e.caller(t, "12333", "0", 6*time.Second)
		if _, err := dept.WaitEvent("CALL_ESTABLISHED", 10*time.Second); err != nil {
			t.Fatalf("department never answered: %v\n%s", err, e.log.tail(30))
		}
		if res := p.Wait(); res.ExitCode != 0 {
			t.Fatalf("sipp: %s", res)
		}
		r := e.waitRecords(1, 10*time.Second)[0]
		if len(r.Transfers) != 1 || !r.Transfers[0].Answered || r.Transfers[0].Mode != "parallel" || r.Agent != "" || r.EndReason != "answered" {
			t.Fatalf("record: %+v", r)
		}
		if heard := peer.Received(); !testpeer.HasTone(heard[max(0, len(heard)-16000):], 880) {
			t.Errorf("caller did not hear the department's phone")
		}
	})
	for _, tc := range []struct{ name, scenario string }{{"no answer", "uas_noanswer.xml"}, {"busy", "uas_busy.xml"}} {
		t.Run(tc.name, func(t *testing.T) {
			_, r, dept := run(t, mondayMorning, tc.scenario)
			if len(r.Transfers) != 1 || r.Transfers[0].Answered || r.Agent != "1001" || r.Skill != "social_security" {
				t.Fatalf("record: %+v", r)
			}
			if res := dept.Wait(); res.Successful != 1 {
				t.Errorf("department: %s", res)
			}
			if tc.name == "no answer" && r.Transfers[0].RingMs < 2900 {
				t.Errorf("gave up after %d ms, want the 3 s ring timeout", r.Transfers[0].RingMs)
			}
		})
	}
	for _, tc := range []struct {
		name, now string
		rung      bool
	}{{"weekend", saturdayMorning, false}, {"public holiday", nationalDay, false}, {"make-up working saturday", makeUpSaturday, true}} {
		t.Run(tc.name, func(t *testing.T) {
			e, r, _ := run(t, tc.now, "uas_answer.xml")
			rung := e.log.count(`ringing the department first`) > 0
			if rung != tc.rung || (len(r.Transfers) > 0) != tc.rung {
				t.Fatalf("department rung %v, want %v; record %+v", rung, tc.rung, r)
			}
		})
	}
}

// TestMergeAnnouncement: 12369 tells callers it has merged into 12345 while
// the notice is in force, and not after its end date.
func TestMergeAnnouncement(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		now  string
		want bool
	}{{mondayMorning, true}, {afterMerge, false}} {
		t.Run(tc.now, func(t *testing.T) {
			e := startDemo(t, demoOpts{Now: tc.now})
			p, peer := e.caller(t, "12369", "0", 4*time.Second)
			if res := p.Wait(); res.ExitCode != 0 {
				t.Fatalf("sipp: %s", res)
			}
			r := e.waitRecords(1, 10*time.Second)[0]
			got := len(r.IVRPath) > 0 && r.IVRPath[0] == "announcement"
			if got != tc.want || r.LineMode != "merge" || r.Skill != "environment" {
				t.Fatalf("announcement %v, want %v; record %+v", got, tc.want, r)
			}
			c := testpeer.BestCorrelation(peer.Received(), loadPCM(t, "transition-12369.wav")[:8000*2])
			if (c > 0.8) != tc.want {
				t.Errorf("transition notice correlation %.2f, want heard=%v", c, tc.want)
			}
		})
	}
}

// TestReloadDuringIVR: SIGHUP with a changed menu changes the tree for new
// calls; a caller already in the menu finishes on the tree it started on.
func TestReloadDuringIVR(t *testing.T) {
	t.Parallel()
	e := startDemo(t, demoOpts{Now: saturdayMorning})
	p, peer := e.caller(t, "12333", "0", 20*time.Second)
	if _, err := e.log.wait(`msg=ivr .*path=closed>menu `, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	reload := func(from, to, want string) {
		t.Helper()
		changed := strings.Replace(string(raw), from, to, 1)
		if changed == string(raw) {
			t.Fatal("demo menu changed shape: update the test")
		}
		if err := os.WriteFile(e.cfg, []byte(changed), 0o644); err != nil {
			t.Fatal(err)
		}
		e.signal(syscall.SIGHUP)
		if _, err := e.log.wait(want, 10*time.Second); err != nil {
			t.Fatalf("reload: want %s: %v\n%s", want, err, e.log.tail(20))
		}
	}
	// A broken file (pension unreachable) is refused; the running tree stays.
	reload("choices: {1: pension,", "choices: {1: agent,", `msg="reload refused`)
	// A good one swaps keys 1 and 3 for new calls.
	reload("choices: {1: pension, 2: medical, 3: employment,", "choices: {1: employment, 2: medical, 3: pension,", `msg="config reloaded"`)
	peer.SendDTMF(netip.AddrPort{}, 101, '1')
	p2, peer2 := e.caller(t, "12333", "0", 15*time.Second)
	press(t, e, peer2, `closed>menu `, '1', 2)
	for _, sp := range []*testpeer.SippProc{p, p2} {
		if res := sp.Wait(); res.ExitCode != 0 {
			t.Fatalf("sipp: %s", res)
		}
	}
	recs := e.waitRecords(2, 10*time.Second)
	old := recordWith(t, recs, "pension")
	for _, r := range recs {
		if r.CallID != old.CallID && slices.Contains(r.IVRPath, "pension") {
			t.Errorf("the new call walked the old tree: %v", r.IVRPath)
		}
	}
}
