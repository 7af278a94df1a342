package sip

import (
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// TestAnsweredTimer: a dialled leg's 2xx decides its session timer.
func TestAnsweredTimer(t *testing.T) {
	for _, tc := range []struct {
		se         string // the 2xx's Session-Expires; "" none
		want       time.Duration
		engine, ok bool
	}{
		{"", 0, false, false},
		{"1800;refresher=uac", 1800 * time.Second, true, true},
		{"90; refresher=uas", 90 * time.Second, false, true},
		{"120", 120 * time.Second, true, true},
		{"x;refresher=uac", 0, false, false},
	} {
		res := sipmsg.NewResponse(200, "OK")
		if tc.se != "" {
			res.AppendHeader(sipmsg.NewHeader("Session-Expires", tc.se))
		}
		se, engine, ok := answeredTimer(res)
		if se != tc.want || engine != tc.engine || ok != tc.ok {
			t.Errorf("%q: %v %v %v", tc.se, se, engine, ok)
		}
	}
}

// FuzzAnsweredTimer: whatever Session-Expires a dialled phone answers, the
// leg runs no timer or one of a whole positive number of seconds.
func FuzzAnsweredTimer(f *testing.F) {
	for _, s := range []string{"1800;refresher=uac", "90; refresher=uas", "120", "", ";", "-5;refresher=uas",
		"99999999999999999999", "30;REFRESHER=UAS;x=y", "0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		res := sipmsg.NewResponse(200, "OK")
		res.AppendHeader(sipmsg.NewHeader("Session-Expires", v))
		se, _, ok := answeredTimer(res)
		if ok && (se <= 0 || se%time.Second != 0) {
			t.Fatalf("%q: interval %v", v, se)
		}
		if !ok && se != 0 {
			t.Fatalf("%q: no timer but %v", v, se)
		}
	})
}
