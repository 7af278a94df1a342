package testpeer

import (
	"bytes"
	"io"
	"net/netip"
	"testing"
	"time"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func TestRTPPeerToneAndHeaders(t *testing.T) {
	t.Parallel()
	a, b := NewRTPPeer(t), NewRTPPeer(t)
	a.SendTone(b.Addr(), PTPCMA, 1000, 400*time.Millisecond)
	if err := b.WaitPackets(20, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitSent(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	if !HasTone(b.Received(), 1000) {
		t.Fatalf("no tone: level %.2f", ToneLevel(b.Received(), 1000))
	}
	hdrs := b.Packets()
	if !hdrs[0].Marker || hdrs[0].PayloadType != PTPCMA {
		t.Fatalf("first header %+v", hdrs[0])
	}
	for i := 1; i < len(hdrs); i++ {
		if hdrs[i].SequenceNumber != hdrs[i-1].SequenceNumber+1 ||
			hdrs[i].Timestamp != hdrs[i-1].Timestamp+160 || hdrs[i].SSRC != hdrs[0].SSRC || hdrs[i].Marker {
			t.Fatalf("packet %d not continuous: %+v after %+v", i, hdrs[i], hdrs[i-1])
		}
	}
	if b.Source() != a.Addr() {
		t.Fatalf("source %v, want %v", b.Source(), a.Addr())
	}
}

func TestRTPPeerPacing(t *testing.T) {
	t.Parallel()
	a, b := NewRTPPeer(t), NewRTPPeer(t)
	start := time.Now()
	a.SendPCM(b.Addr(), PTPCMU, make([]int16, 10*160))
	if err := a.WaitSent(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 180*time.Millisecond {
		t.Fatalf("10 frames sent in %v: not paced", d)
	}
	if err := b.WaitPackets(10, time.Second); err != nil {
		t.Fatal(err)
	}
	if n := len(b.Received()); n != 1600 {
		t.Fatalf("received %d samples", n)
	}
}

func TestRTPPeerDTMFAndLearnedRemote(t *testing.T) {
	t.Parallel()
	a, b := NewRTPPeer(t), NewRTPPeer(t)
	for _, d := range "5#" {
		a.SendDTMF(b.Addr(), 101, d)
	}
	// b answers to wherever a's packets came from.
	b.SendTone(netip.AddrPort{}, PTPCMU, 440, 100*time.Millisecond)
	if err := a.WaitSent(3 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitSent(3 * time.Second); err != nil {
		t.Fatal(err)
	}
	if got := b.Digits(); got != "5#" {
		t.Fatalf("digits %q", got)
	}
	if err := a.WaitPackets(5, time.Second); err != nil {
		t.Fatal(err)
	}
	for _, h := range b.Packets() {
		if h.PayloadType != 101 {
			t.Fatalf("unexpected PT %d", h.PayloadType)
		}
	}
	// Two events of 8 packets each; the second starts 800 samples later.
	hdrs := b.Packets()
	if len(hdrs) != 16 || hdrs[8].Timestamp-hdrs[0].Timestamp != 800 || !hdrs[8].Marker {
		t.Fatalf("event packets: %d, ts step %d", len(hdrs), hdrs[min(8, len(hdrs)-1)].Timestamp-hdrs[0].Timestamp)
	}
}

func TestRTPPeerNoRemote(t *testing.T) {
	t.Parallel()
	a := NewRTPPeer(t)
	a.Close()
	a.SendTone(netip.AddrPort{}, PTPCMU, 440, 20*time.Millisecond)
	if err := a.WaitSent(time.Second); err == nil {
		t.Fatal("send on a closed peer reported no error")
	}
}

func TestPorts(t *testing.T) {
	t.Parallel()
	seen := map[int]bool{}
	for range 20 {
		p := FreeUDPPort(t)
		if seen[p] || forbiddenPort(p) {
			t.Fatalf("port %d repeated or forbidden", p)
		}
		seen[p] = true
	}
	p := FreePortPair(t)
	if !portFree(p) || !portFree(p+1) {
		t.Fatalf("pair %d not free", p)
	}
	if r := FreeRTPPort(t); r%2 != 0 || !portFree(r+1) {
		t.Fatalf("rtp port %d", r)
	}
}
