package sip

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// TestBehindNAT: which bindings are dialled at their source.
func TestBehindNAT(t *testing.T) {
	src := netip.MustParseAddrPort("127.0.0.1:40000")
	for _, tc := range []struct {
		name   string
		reg    Registration
		natted bool
	}{
		{"udp, contact is the source", Registration{Contact: "sip:1001@127.0.0.1:40000", Source: src, Transport: "udp", NAT: true}, false},
		{"udp, private contact", Registration{Contact: "sip:1001@10.0.0.5:5060", Source: src, Transport: "udp", NAT: true}, true},
		{"udp, same host, other port", Registration{Contact: "sip:1001@127.0.0.1:5060", Source: src, Transport: "udp", NAT: true}, true},
		{"udp, no port is 5060", Registration{Contact: "sip:1001@127.0.0.1", Source: netip.MustParseAddrPort("127.0.0.1:5060"), Transport: "udp", NAT: true}, false},
		{"udp, registered on the phone's behalf", Registration{Contact: "sip:1001@127.0.0.1:5070", Source: src, Transport: "udp"}, false},
		{"tcp, always its connection", Registration{Contact: "sip:1001@127.0.0.1:40000;transport=tcp", Source: src, Transport: "tcp"}, true},
		{"no source", Registration{Contact: "sip:1001@10.0.0.5", Transport: "udp"}, false},
	} {
		if got := behindNAT(tc.reg); got != tc.natted {
			t.Errorf("%s: behindNAT = %v", tc.name, got)
		}
	}
}

// TestSeatOverTCPReachedOnItsConnection: a phone (a sipgo user agent)
// registers over TCP with a Contact naming an address where nothing
// listens; the engine's INVITE to that Contact arrives on the phone's own
// connection, the one it registered on.
func TestSeatOverTCPReachedOnItsConnection(t *testing.T) {
	h := newRegHarness(t, func(c *RegistrarConfig) { c.Now = nil })
	s, ctx := serveConfig(t, Config{Address: netip.MustParseAddrPort("127.0.0.1:0"), Transports: []string{"udp", "tcp"}, Registrar: h.r})

	phoneUA, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = phoneUA.Close() })
	phone, err := sipgo.NewServer(phoneUA)
	if err != nil {
		t.Fatal(err)
	}
	invites := make(chan *sipmsg.Request, 1)
	phone.OnInvite(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		invites <- req
		_ = tx.Respond(sipmsg.NewResponseFromRequest(req, sipmsg.StatusBusyHere, "Busy", nil))
	})
	client, err := sipgo.NewClient(phoneUA, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	tcp := s.BoundAddr("tcp")
	var target, private sipmsg.Uri
	if err := sipmsg.ParseUri("sip:"+tcp.String()+";transport=tcp", &target); err != nil {
		t.Fatal(err)
	}
	if err := sipmsg.ParseUri("sip:1002@127.0.0.99:5099;transport=tcp", &private); err != nil {
		t.Fatal(err)
	}
	req := sipmsg.NewRequest(sipmsg.REGISTER, target)
	req.AppendHeader(&sipmsg.ToHeader{Address: sipmsg.Uri{Scheme: "sip", User: "1002", Host: "127.0.0.1"}})
	from := &sipmsg.FromHeader{Address: sipmsg.Uri{Scheme: "sip", User: "1002", Host: "127.0.0.1"}, Params: sipmsg.NewParams()}
	from.Params.Add("tag", sipmsg.GenerateTagN(8))
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ContactHeader{Address: private})
	req.AppendHeader(sipmsg.NewHeader("Expires", "300"))
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	res, err := client.Do(rctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res, err = client.DoDigestAuth(rctx, req, res, sipgo.DigestAuth{Username: "1002", Password: "demo-1002"}); err != nil || res.StatusCode != 200 {
		t.Fatalf("register: %v %v", res, err)
	}
	reg := h.wantChange(true)
	if reg.Transport != "tcp" {
		t.Fatalf("registration %+v", reg)
	}

	leg, err := s.Dial(ctx, DialOptions{Target: reg.Contact, FromUser: "12345", SDP: []byte("v=0\r\n")})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case inv := <-invites:
		if got := sourceOf(inv); got != tcp {
			t.Fatalf("INVITE came from %v, want the engine's listener %v (the phone's own connection)", got, tcp)
		}
		if inv.Recipient.Host != "127.0.0.99" {
			t.Fatalf("Request-URI %s, want the Contact", inv.Recipient.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the INVITE never reached the phone")
	}
	var rej *RejectError
	if err := leg.WaitAnswer(rctx, nil); !errors.As(err, &rej) || rej.Code != 486 {
		t.Fatalf("WaitAnswer: %v", err)
	}
}
