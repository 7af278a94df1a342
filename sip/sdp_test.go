package sip

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// sdpText joins lines with CRLF (and a trailing CRLF) as on the wire.
func sdpText(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n" }

var (
	fmtPCMU = Format{PT: 0, Name: CodecPCMU, Rate: 8000}
	fmtPCMA = Format{PT: 8, Name: CodecPCMA, Rate: 8000}
	fmtTE   = Format{PT: 101, Name: CodecTelephoneEvent, Rate: 8000}
)

// sdpCases are real-world shapes; they double as the fuzz seeds.
var sdpCases = []struct {
	name string
	body string
	want MediaDesc
	err  error
}{
	{
		name: "sipp default uac",
		body: sdpText("v=0", "o=user1 53655765 2353687637 IN IP4 127.0.0.1", "s=-",
			"c=IN IP4 127.0.0.1", "t=0 0", "m=audio 6000 RTP/AVP 0", "a=rtpmap:0 PCMU/8000"),
		want: MediaDesc{Addr: ap("127.0.0.1:6000"), Formats: []Format{fmtPCMU}, Direction: DirSendRecv},
	},
	{
		name: "baresip",
		body: sdpText("v=0", "o=- 1457367934 2036393524 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1",
			"t=0 0", "m=audio 10164 RTP/AVP 0 8 101", "b=AS:64", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000",
			"a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15", "a=sendrecv", "a=label:1",
			"a=ssrc:2938476361 cname:1f4d0b3c-5d1e", "a=rtcp-rsize", "a=ptime:20"),
		want: MediaDesc{Addr: ap("127.0.0.1:10164"), Formats: []Format{fmtPCMU, fmtPCMA, fmtTE}, DTMF: 101,
			Direction: DirSendRecv, Ptime: 20},
	},
	{
		name: "linphone-like wideband first",
		body: sdpText("v=0", "o=1001 3104 2260 IN IP4 192.168.1.20", "s=Talk", "c=IN IP4 192.168.1.20",
			"t=0 0", "a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics",
			"m=audio 7078 RTP/AVP 96 97 98 0 8 18 101 99 100",
			"a=rtpmap:96 opus/48000/2", "a=fmtp:96 useinbandfec=1", "a=rtpmap:97 SPEEX/16000",
			"a=fmtp:97 vbr=on", "a=rtpmap:98 SPEEX/8000", "a=fmtp:98 vbr=on", "a=fmtp:18 annexb=yes",
			"a=rtpmap:101 telephone-event/48000", "a=rtpmap:99 telephone-event/16000",
			"a=rtpmap:100 telephone-event/8000", "a=rtcp-fb:* trr-int 1000", "a=rtcp-fb:* ccm tmmbr"),
		want: MediaDesc{Addr: ap("192.168.1.20:7078"), Formats: []Format{
			{96, "opus", 48000}, {97, "SPEEX", 16000}, {98, "SPEEX", 8000}, fmtPCMU, fmtPCMA,
			{18, "G729", 8000}, {101, CodecTelephoneEvent, 48000}, {99, CodecTelephoneEvent, 16000},
			{100, CodecTelephoneEvent, 8000},
		}, DTMF: 100, Direction: DirSendRecv},
	},
	{
		name: "asterisk-like media-level c, static without rtpmap, ptime 30",
		body: sdpText("v=0", "o=- 1 2 IN IP4 10.0.0.5", "s=Asterisk", "t=0 0",
			"m=audio 10010 RTP/AVP 8 0 3 101", "c=IN IP4 10.0.0.6", "a=rtpmap:101 TELEPHONE-EVENT/8000",
			"a=fmtp:101 0-16", "a=ptime:30", "a=maxptime:150", "a=sendrecv"),
		want: MediaDesc{Addr: ap("10.0.0.6:10010"), Formats: []Format{fmtPCMA, fmtPCMU, {3, "GSM", 8000}, fmtTE},
			DTMF: 101, Direction: DirSendRecv, Ptime: 30},
	},
	{
		name: "IPv6",
		body: sdpText("v=0", "o=- 5 5 IN IP6 ::1", "s=-", "c=IN IP6 ::1", "t=0 0",
			"m=audio 4000 RTP/AVP 8 0", "a=recvonly"),
		want: MediaDesc{Addr: ap("[::1]:4000"), Formats: []Format{fmtPCMA, fmtPCMU}, Direction: DirRecvOnly},
	},
	{
		name: "hold rfc2543 c=0.0.0.0",
		body: sdpText("v=0", "o=- 1 3 IN IP4 127.0.0.1", "s=-", "c=IN IP4 0.0.0.0", "t=0 0",
			"m=audio 6000 RTP/AVP 0"),
		want: MediaDesc{Addr: ap("0.0.0.0:6000"), Formats: []Format{fmtPCMU}, Direction: DirSendRecv},
	},
	{
		name: "hold sendonly",
		body: sdpText("v=0", "o=- 1 3 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
			"m=audio 6000 RTP/AVP 0", "a=sendonly"),
		want: MediaDesc{Addr: ap("127.0.0.1:6000"), Formats: []Format{fmtPCMU}, Direction: DirSendOnly},
	},
	{
		name: "hold session-level inactive",
		body: sdpText("v=0", "o=- 1 3 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0", "a=inactive",
			"m=audio 6000 RTP/AVP 0"),
		want: MediaDesc{Addr: ap("127.0.0.1:6000"), Formats: []Format{fmtPCMU}, Direction: DirInactive},
	},
	{
		name: "media level overrides session level",
		body: sdpText("v=0", "o=- 1 3 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0", "a=inactive",
			"a=ptime:40", "m=audio 6000 RTP/AVP 0", "a=sendrecv"),
		want: MediaDesc{Addr: ap("127.0.0.1:6000"), Formats: []Format{fmtPCMU}, Direction: DirSendRecv, Ptime: 40},
	},
	{
		name: "rejected audio then video then audio",
		body: sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
			"m=audio 0 RTP/AVP 0", "m=video 5000 RTP/AVP 96", "a=rtpmap:96 H264/90000",
			"m=audio 5002 RTP/AVP 8", "a=rtpmap:8 PCMA/8000"),
		want: MediaDesc{Addr: ap("127.0.0.1:5002"), Formats: []Format{fmtPCMA}, Direction: DirSendRecv},
	},
	{
		name: "LF line endings",
		body: "v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 5004 RTP/AVP 0\n",
		want: MediaDesc{Addr: ap("127.0.0.1:5004"), Formats: []Format{fmtPCMU}, Direction: DirSendRecv},
	},
	{
		name: "duplicate payload types and rtpmaps",
		body: sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
			"m=audio 5000 RTP/AVP 0 0 101 101", "a=rtpmap:101 telephone-event/8000", "a=rtpmap:101 PCMA/8000"),
		want: MediaDesc{Addr: ap("127.0.0.1:5000"), Formats: []Format{fmtPCMU, fmtTE}, DTMF: 101, Direction: DirSendRecv},
	},
	{
		name: "multicast with TTL",
		body: sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 224.2.1.1/127/3", "t=0 0",
			"m=audio 5000 RTP/AVP 8"),
		want: MediaDesc{Addr: ap("224.2.1.1:5000"), Formats: []Format{fmtPCMA}, Direction: DirSendRecv},
	},
	{
		name: "video only",
		body: sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
			"m=video 5000 RTP/AVP 96"),
		err: ErrNoAudio,
	},
	{
		name: "audio rejected",
		body: sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
			"m=audio 0 RTP/AVP 0"),
		err: ErrNoAudio,
	},
	{
		name: "SRTP with a bad key only",
		body: sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
			"m=audio 5000 RTP/SAVP 0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:abcd"),
		want: MediaDesc{Addr: ap("127.0.0.1:5000"), Formats: []Format{fmtPCMU}, Direction: DirSendRecv, Secure: true},
	},
	{
		name: "SRTP, an MKI line skipped",
		body: sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
			"m=audio 5000 RTP/SAVP 0",
			"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"+testKeyB64+"|2^20|1:4",
			"a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:"+testKeyB64+"|2^31"),
		want: MediaDesc{Addr: ap("127.0.0.1:5000"), Formats: []Format{fmtPCMU}, Direction: DirSendRecv, Secure: true,
			Crypto: []Crypto{{Tag: 2, Suite: SuiteAES128SHA32, Key: testKey}}},
	},
	{
		name: "best-effort SRTP on RTP/AVP",
		body: sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
			"m=audio 5000 RTP/AVP 8", "a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:"+testKeyB64),
		want: MediaDesc{Addr: ap("127.0.0.1:5000"), Formats: []Format{fmtPCMA}, Direction: DirSendRecv,
			Crypto: []Crypto{{Tag: 7, Suite: SuiteAES128SHA80, Key: testKey}}},
	},
	{
		name: "no connection address",
		body: sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "t=0 0", "m=audio 5000 RTP/AVP 0"),
		err:  ErrBadSDP,
	},
	{
		name: "hostname connection address",
		body: sdpText("v=0", "o=- 1 1 IN IP4 h", "s=-", "c=IN IP4 media.example.com", "t=0 0", "m=audio 5000 RTP/AVP 0"),
		err:  ErrBadSDP,
	},
	{
		name: "IP6 address type with IPv4 address",
		body: sdpText("v=0", "o=- 1 1 IN IP6 ::1", "s=-", "c=IN IP6 127.0.0.1", "t=0 0", "m=audio 5000 RTP/AVP 0"),
		err:  ErrBadSDP,
	},
	{
		name: "non-numeric payload type",
		body: sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0", "m=audio 5000 RTP/AVP PCMU"),
		err:  ErrBadSDP,
	},
	{name: "garbage", body: "hello world", err: ErrBadSDP},
	{name: "empty", body: "", err: ErrBadSDP},
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestParseSDP(t *testing.T) {
	for _, tc := range sdpCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSDP([]byte(tc.body))
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			got.Lines, got.Index = nil, 0 // TestParseSDPLines
			if err == nil && !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestMediaDescHold(t *testing.T) {
	cases := map[string]bool{
		"hold rfc2543 c=0.0.0.0": true, "hold sendonly": true, "hold session-level inactive": true,
		"media level overrides session level": false, "baresip": false, "IPv6": false,
	}
	for _, tc := range sdpCases {
		want, ok := cases[tc.name]
		if !ok {
			continue
		}
		if got := tc.want.Hold(); got != want {
			t.Errorf("%s: Hold() = %v, want %v", tc.name, got, want)
		}
	}
}

func TestNegotiate(t *testing.T) {
	g729 := Format{18, "G729", 8000}
	opus := Format{96, "opus", 48000}
	cases := []struct {
		name      string
		offer     []Format
		dtmf      uint8
		supported []string
		want      Format
		err       error
	}{
		{"offerer order wins", []Format{fmtPCMA, fmtPCMU, fmtTE}, 101, []string{"PCMU", "PCMA"}, fmtPCMA, nil},
		{"skip unsupported", []Format{opus, g729, fmtPCMU}, 0, []string{"PCMU", "PCMA"}, fmtPCMU, nil},
		{"case-insensitive", []Format{fmtPCMU}, 0, []string{"pcmu"}, fmtPCMU, nil},
		{"only telephone-event", []Format{fmtTE}, 101, []string{"PCMU", "telephone-event"}, Format{}, ErrNoCommonCodec},
		{"only G729", []Format{g729}, 0, []string{"PCMU", "PCMA"}, Format{}, ErrNoCommonCodec},
		{"wrong rate", []Format{{97, "PCMU", 16000}}, 0, []string{"PCMU"}, Format{}, ErrNoCommonCodec},
		{"nothing supported", []Format{fmtPCMU}, 0, nil, Format{}, ErrNoCommonCodec},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			codec, dtmf, err := Negotiate(MediaDesc{Formats: tc.offer, DTMF: tc.dtmf}, tc.supported)
			if !errors.Is(err, tc.err) || codec != tc.want {
				t.Fatalf("got %+v %v, want %+v %v", codec, err, tc.want, tc.err)
			}
			if err == nil && dtmf != tc.dtmf {
				t.Fatalf("dtmf %d, want %d", dtmf, tc.dtmf)
			}
		})
	}
}

func TestBuildSDPGolden(t *testing.T) {
	got := string(BuildSDP(SDPParams{
		SessionID: 42, Version: 7, Addr: ap("127.0.0.1:20000"),
		Formats: []Format{fmtPCMA}, DTMF: 101, Direction: DirRecvOnly, Username: "hotline",
	}))
	want := sdpText("v=0", "o=hotline 42 7 IN IP4 127.0.0.1", "s=hotline", "c=IN IP4 127.0.0.1", "t=0 0",
		"m=audio 20000 RTP/AVP 8 101", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000",
		"a=fmtp:101 0-16", "a=ptime:20", "a=recvonly")
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestBuildSDPRoundTrip(t *testing.T) {
	cases := []SDPParams{
		{SessionID: 1, Version: 1, Addr: ap("127.0.0.1:4000"), Formats: DefaultFormats(101)},
		{SessionID: 1, Version: 2, Addr: ap("[2001:db8::7]:4002"), Formats: []Format{fmtPCMU}, DTMF: 96, Direction: DirSendOnly},
		{SessionID: 9, Version: 3, Addr: ap("[::ffff:10.0.0.1]:4004"), Formats: []Format{fmtPCMA}, Direction: "bogus", Username: "a b"},
	}
	for _, p := range cases {
		body := BuildSDP(p)
		md, err := ParseSDP(body)
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		wantDir := p.Direction
		if wantDir != DirSendOnly {
			wantDir = DirSendRecv
		}
		want := MediaDesc{Addr: unmapAddrPort(p.Addr), Formats: withDTMF(p.Formats, p.DTMF), Direction: wantDir, Ptime: 20}
		for _, f := range want.Formats {
			if f.Name == CodecTelephoneEvent {
				want.DTMF = f.PT
			}
		}
		md.Lines = nil
		if !reflect.DeepEqual(md, want) {
			t.Fatalf("round trip\n got %+v\nwant %+v\n%s", md, want, body)
		}
	}
}

func TestAnswerDirection(t *testing.T) {
	for in, want := range map[string]string{
		DirSendOnly: DirRecvOnly, DirRecvOnly: DirSendOnly, DirInactive: DirInactive,
		DirSendRecv: DirSendRecv, "": DirSendRecv, "junk": DirSendRecv,
	} {
		if got := AnswerDirection(in); got != want {
			t.Errorf("AnswerDirection(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDefaultFormats(t *testing.T) {
	want := []Format{fmtPCMU, fmtPCMA, fmtTE}
	if got := DefaultFormats(101); !reflect.DeepEqual(got, want) {
		t.Fatalf("%+v", got)
	}
}

// FuzzParseSDP: ParseSDP never panics, and what it accepts survives
// BuildSDP → ParseSDP unchanged (address, formats, DTMF, direction).
// Seeds: sip/testdata/fuzz/FuzzParseSDP plus the table above.
func FuzzParseSDP(f *testing.F) {
	for _, tc := range sdpCases {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		md, err := ParseSDP(body)
		if err != nil {
			return
		}
		if !md.Addr.IsValid() || md.Addr.Port() == 0 {
			t.Fatalf("accepted without address: %+v", md)
		}
		again, err := ParseSDP(BuildSDP(SDPParams{Addr: md.Addr, Formats: md.Formats, DTMF: md.DTMF, Direction: md.Direction, Lines: md.Lines, Index: md.Index, Secure: md.Secure, Crypto: md.Crypto}))
		if err != nil {
			t.Fatalf("rebuilt SDP refused: %v (from %+v)", err, md)
		}
		again.Ptime = md.Ptime
		if again.Index == md.Index && again.Index < len(again.Lines) {
			again.Lines[again.Index] = md.Lines[md.Index] // rebuilt from Formats
		}
		if !reflect.DeepEqual(again, md) {
			t.Fatalf("round trip\n got %+v\nwant %+v", again, md)
		}
	})
}

// TestParseSDPLines: an offer of several m= lines (video first, a second
// audio) is read from its first usable audio line, and the answer built
// from it keeps every line in order, the others rejected with port 0 and
// their offered formats (RFC 3264 §6).
func TestParseSDPLines(t *testing.T) {
	offer := sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
		"m=video 5002 RTP/AVP 96 97", "a=rtpmap:96 H264/90000", "a=rtpmap:97 VP8/90000",
		"m=audio 5000 RTP/AVP 8 0 96", "a=rtpmap:96 telephone-event/8000", "a=ptime:30", "a=maxptime:60",
		"m=audio 5004 RTP/AVP 0", "m=application 5006 UDP/BFCP *")
	md, err := ParseSDP([]byte(offer))
	if err != nil {
		t.Fatal(err)
	}
	if md.Index != 1 || len(md.Lines) != 4 || md.Addr != ap("127.0.0.1:5000") || md.DTMF != 96 || md.Ptime != 30 {
		t.Fatalf("%+v", md)
	}
	answer := string(BuildSDP(SDPParams{Addr: ap("127.0.0.1:4000"), Formats: []Format{fmtPCMA}, DTMF: md.DTMF, Lines: md.Lines, Index: md.Index}))
	var mlines []string
	for _, l := range strings.Split(answer, "\r\n") {
		if strings.HasPrefix(l, "m=") {
			mlines = append(mlines, l)
		}
	}
	want := []string{"m=video 0 RTP/AVP 96 97", "m=audio 4000 RTP/AVP 8 96", "m=audio 0 RTP/AVP 0", "m=application 0 UDP/BFCP *"}
	if !reflect.DeepEqual(mlines, want) {
		t.Fatalf("m= lines %q, want %q\n%s", mlines, want, answer)
	}
	if !strings.Contains(answer, "a=rtpmap:96 telephone-event/8000") || !strings.Contains(answer, "a=ptime:20") {
		t.Errorf("answer: %s", answer)
	}
	back, err := ParseSDP([]byte(answer))
	if err != nil || back.Index != 1 || back.Addr != ap("127.0.0.1:4000") {
		t.Fatalf("answer reads back as %+v, %v", back, err)
	}
}
