package call

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/media"
	"github.com/hotline-cc/hotline/sip"
)

func testMediaSession(t *testing.T) *media.Session {
	t.Helper()
	m, err := media.NewManager(media.Config{Address: netip.MustParseAddr("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	s, err := m.NewSession(media.SessionConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func mustCrypto(t *testing.T, tag int, suite string) sip.Crypto {
	t.Helper()
	c, err := sip.NewCrypto(tag, suite)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSRTPAcceptOffer: each policy against each kind of offer.
func TestSRTPAcceptOffer(t *testing.T) {
	k32 := mustCrypto(t, 3, sip.SuiteAES128SHA32)
	bogus := sip.Crypto{Tag: 1, Suite: "NULL_HMAC_SHA1_80", Key: make([]byte, 30)}
	for _, tc := range []struct {
		name   string
		policy string
		offer  sip.MediaDesc
		secure bool // SRTP in force after
		err    bool
	}{
		{"off, plain", config.SRTPOff, sip.MediaDesc{}, false, false},
		{"off, best effort ignored", config.SRTPOff, sip.MediaDesc{Crypto: []sip.Crypto{k32}}, false, false},
		{"off, SAVP refused", config.SRTPOff, sip.MediaDesc{Secure: true, Crypto: []sip.Crypto{k32}}, false, true},
		{"offer, plain", config.SRTPOffer, sip.MediaDesc{}, false, false},
		{"offer, best effort", config.SRTPOffer, sip.MediaDesc{Crypto: []sip.Crypto{k32}}, true, false},
		{"offer, SAVP", config.SRTPOffer, sip.MediaDesc{Secure: true, Crypto: []sip.Crypto{k32}}, true, false},
		{"offer, SAVP without a usable key", config.SRTPOffer, sip.MediaDesc{Secure: true, Crypto: []sip.Crypto{bogus}}, false, true},
		{"require, plain refused", config.SRTPRequire, sip.MediaDesc{}, false, true},
		{"require, best effort", config.SRTPRequire, sip.MediaDesc{Crypto: []sip.Crypto{k32}}, true, false},
		{"require, SAVP", config.SRTPRequire, sip.MediaDesc{Secure: true, Crypto: []sip.Crypto{bogus, k32}}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testMediaSession(t)
			s := legSRTP{policy: tc.policy}
			err := s.acceptOffer(tc.offer, m)
			if (err != nil) != tc.err || (err != nil && !errors.Is(err, errSRTPMismatch)) {
				t.Fatalf("err %v, want error %v", err, tc.err)
			}
			if m.Secure() != tc.secure || (s.local != nil) != tc.secure {
				t.Fatalf("secure %v (local %v), want %v", m.Secure(), s.local, tc.secure)
			}
			if !tc.secure {
				return
			}
			if s.local.Tag != k32.Tag || s.local.Suite != k32.Suite || string(s.local.Key) == string(k32.Key) {
				t.Fatalf("our key %+v: want the offer's tag and suite and a key of our own", s.local)
			}
			secure, lines := s.answerCrypto()
			if secure != tc.offer.Secure || len(lines) != 1 {
				t.Fatalf("answer: secure %v, %d lines", secure, len(lines))
			}
			before := s.local
			if err := s.acceptOffer(tc.offer, m); err != nil || s.local != before {
				t.Fatalf("a re-offer of the same key re-keyed: %v", err)
			}
		})
	}
}

// TestSRTPAcceptAnswer: our offer per policy, and the answers to it.
func TestSRTPAcceptAnswer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy string
		answer func(offered []sip.Crypto) sip.MediaDesc
		secure bool
		err    bool
	}{
		{"off, plain", config.SRTPOff, func([]sip.Crypto) sip.MediaDesc { return sip.MediaDesc{} }, false, false},
		{"off, SAVP answer", config.SRTPOff, func([]sip.Crypto) sip.MediaDesc { return sip.MediaDesc{Secure: true} }, false, true},
		{"offer, plain answer", config.SRTPOffer, func([]sip.Crypto) sip.MediaDesc { return sip.MediaDesc{} }, false, false},
		{"offer, second suite taken", config.SRTPOffer, func(o []sip.Crypto) sip.MediaDesc {
			return sip.MediaDesc{Crypto: []sip.Crypto{{Tag: o[1].Tag, Suite: o[1].Suite, Key: make([]byte, 30)}}}
		}, true, false},
		{"require, plain answer", config.SRTPRequire, func([]sip.Crypto) sip.MediaDesc { return sip.MediaDesc{} }, false, true},
		{"require, unknown tag", config.SRTPRequire, func(o []sip.Crypto) sip.MediaDesc {
			return sip.MediaDesc{Secure: true, Crypto: []sip.Crypto{{Tag: 9, Suite: o[0].Suite, Key: make([]byte, 30)}}}
		}, false, true},
		{"require, SAVP", config.SRTPRequire, func(o []sip.Crypto) sip.MediaDesc {
			return sip.MediaDesc{Secure: true, Crypto: []sip.Crypto{{Tag: o[0].Tag, Suite: o[0].Suite, Key: make([]byte, 30)}}}
		}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testMediaSession(t)
			s := legSRTP{policy: tc.policy}
			secure, offered := s.offerCrypto()
			if secure != (tc.policy == config.SRTPRequire) || (len(offered) > 0) != (tc.policy != config.SRTPOff) {
				t.Fatalf("offer: secure %v, %d lines", secure, len(offered))
			}
			err := s.acceptAnswer(tc.answer(offered), m)
			if (err != nil) != tc.err || m.Secure() != tc.secure {
				t.Fatalf("err %v secure %v; want error %v secure %v", err, m.Secure(), tc.err, tc.secure)
			}
		})
	}
}

func TestSRTPPolicyOfLegs(t *testing.T) {
	cfg := &config.Config{
		SIP:   config.SIP{SeatSRTP: config.SRTPOffer},
		Seats: []config.Seat{{Extension: "1001"}, {Extension: "1002", SRTP: config.SRTPRequire}},
		Trunks: []config.Trunk{{Name: "c", Outbound: "sip:10.0.0.1:5061", SRTP: config.SRTPRequire},
			{Name: "d", Outbound: "sip:10.0.0.2"}},
	}
	for _, tc := range []struct {
		kind        legKind
		ext, target string
		want        string
	}{
		{legSeat, "1001", "sip:1001@127.0.0.1:5070", config.SRTPOffer},
		{legSeat, "1002", "sip:1002@127.0.0.1:5070", config.SRTPRequire},
		{legCaller, "", "sip:13800138000@10.0.0.1:5061;transport=tls", config.SRTPRequire},
		{legCaller, "", "sip:13800138000@10.0.0.2", config.SRTPOff},
		{legDepartment, "", "sip:12333@10.9.9.9", config.SRTPOff},
	} {
		if got := srtpPolicy(cfg, tc.kind, tc.ext, tc.target); got != tc.want {
			t.Errorf("%s %s %s: %s, want %s", tc.kind, tc.ext, tc.target, got, tc.want)
		}
	}
}
