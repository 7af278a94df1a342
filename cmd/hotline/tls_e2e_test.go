package main

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// tlsCentre starts an engine with a TLS listener on a free port, keyed by a
// test PKI made now, seats under seatSRTP; it returns the engine, the TLS
// address and the PKI.
func tlsCentre(t *testing.T, seatSRTP string, o centreOpts) (*engine, netip.AddrPort, testpeer.Certs) {
	t.Helper()
	certs := testpeer.MakeCerts(t)
	e, addr := tlsCentreWith(t, certs, seatSRTP, o)
	return e, addr, certs
}

// tlsCentreWith is tlsCentre with a PKI made before.
func tlsCentreWith(t *testing.T, certs testpeer.Certs, seatSRTP string, o centreOpts) (*engine, netip.AddrPort) {
	t.Helper()
	o.SIPExtra += fmt.Sprintf("  tls:\n    listen: 127.0.0.1:0\n    cert: %s\n    key: %s\n    ca: %s\n  seat_srtp: %s\n",
		certs.Chain, certs.Key, certs.CA, seatSRTP)
	e := startEngine(t, o)
	m, err := e.log.wait(`msg="hotline ready".* sip_tls=(\S+)`, 5*time.Second)
	if err != nil {
		t.Fatalf("no TLS listener: %v", err)
	}
	return e, netip.MustParseAddrPort(m[1])
}

// tlsSeat starts baresip seat ext registered over TLS with the given media
// encryption, and waits until the engine has its TLS binding.
func tlsSeat(t *testing.T, e *engine, tlsAddr netip.AddrPort, certs testpeer.Certs, ext int, mediaEnc string, o testpeer.SeatOptions) *testpeer.Seat {
	t.Helper()
	o.Extension = strconv.Itoa(ext)
	o.Password = "demo-" + o.Extension
	o.Registrar = tlsAddr.String()
	o.Transport, o.MediaEnc, o.CAFile, o.AutoAnswer = "tls", mediaEnc, certs.CA, true
	s := testpeer.StartSeat(t, o)
	if err := s.WaitRegistered(10 * time.Second); err != nil {
		t.Fatalf("seat %d over TLS: %v\n%s", ext, err, s.Log())
	}
	if _, err := e.log.wait(`msg=registered .*ext=`+o.Extension+` .*transport=tls`, 5*time.Second); err != nil {
		t.Fatalf("engine did not take seat %d's registration over TLS: %v\n%s", ext, err, e.log.tail(20))
	}
	return s
}

// carrierOverTLS is the carrier's TLS edge: SIPp speaks TCP to a stunnel
// client on the carrier's address, which calls the engine's TLS port from
// that address (so the trunk ACL knows it) and verifies its certificate.
func carrierOverTLS(t *testing.T, tlsAddr netip.AddrPort, certs testpeer.Certs) string {
	t.Helper()
	accept := carrierIP + ":" + strconv.Itoa(testpeer.FreeUDPPort(t))
	testpeer.StartStunnel(t, testpeer.StunnelOptions{
		Client: true, Accept: accept, Connect: tlsAddr.String(), Local: carrierIP, CAFile: certs.CA,
	})
	return accept
}

// TestTLSSRTPSeat: a carrier calls over TLS (SIPp behind stunnel) with
// plain RTP; the seat is baresip registered over TLS with mandatory SRTP
// (RTP/SAVP, SDES). The engine calls the seat over its own TLS connection
// (baresip accepts none), offers RTP/SAVP with a=crypto, both sides
// report SRTP in force, and the relay decrypts and encrypts between the
// seat and the plain carrier leg: each party hears the other's tone.
// Before the call, strangers knock at the TLS port: plain SIP and a
// handshake that is no TLS; the engine stays up for the call.
func TestTLSSRTPSeat(t *testing.T) {
	t.Parallel()
	e, tlsAddr, certs := tlsCentre(t, "require", centreOpts{Seats: 2})
	knockPlain(t, tlsAddr)
	seat := tlsSeat(t, e, tlsAddr, certs, 1001, "srtp-mand", testpeer.SeatOptions{SineHz: 440, Record: true})
	carrier := carrierOverTLS(t, tlsAddr, certs)

	hold := 12 * time.Second
	peer := testpeer.NewRTPPeer(t)
	p := testpeer.StartSipp(t, testpeer.SippOptions{
		LocalIP: carrierIP, Transport: "t1",
		Scenario: testpeer.ScenarioPath(t, "uac_call.xml"),
		Target:   carrier, Service: "12345", Calls: 1,
		Vars:          map[string]string{"media_port": strconv.Itoa(peer.Port()), "hold_ms": strconv.Itoa(int(hold.Milliseconds())), "codecs": "0"},
		TraceMessages: true, Timeout: hold + 30*time.Second,
	})
	peer.SendTone(netip.AddrPort{}, 0, 1000, hold)
	if _, err := seat.WaitEvent("CALL_ESTABLISHED", hold); err != nil {
		t.Fatalf("seat never answered: %v\n%s\n%s", err, e.log.tail(40), seat.Log())
	}
	if _, err := e.log.wait(`msg="leg speaks SRTP" .*leg=seat suite=AES_CM_128_HMAC_SHA1_80 savp=true`, 5*time.Second); err != nil {
		t.Errorf("the engine did not key the seat's leg for SRTP: %v", err)
	}
	if res := p.Wait(); res.ExitCode != 0 || res.Successful != 1 {
		t.Fatalf("sipp over TLS: %s", res)
	}
	r := e.waitRecords(1, 10*time.Second)[0]
	if r.EndReason != "answered" || r.Agent != "1001" {
		t.Errorf("record: %+v", r)
	}
	if !strings.Contains(seat.Log(), "SRTP is Enabled") {
		t.Errorf("baresip did not report SRTP in force:\n%s", seat.Log())
	}
	heard := peer.Received()
	tail := heard[max(0, len(heard)-16000):]
	if !testpeer.HasTone(tail, 440) {
		t.Errorf("caller did not hear the SRTP seat's 440 Hz tone (level %.3f)", testpeer.ToneLevel(tail, 440))
	}
	if rec := seatRecording(t, seat); !testpeer.HasTone(rec, 1000) {
		t.Errorf("SRTP seat did not hear the caller's 1 kHz tone (level %.3f)", testpeer.ToneLevel(rec, 1000))
	}
	if n := metricValue(t, e, `hotline_rtp_packets_dropped_total{reason="srtp_auth"}`); n != 0 {
		t.Errorf("%v SRTP packets failed authentication", n)
	}
}

// TestTLSSeatPlainRefused: a seat whose policy requires SRTP but whose
// phone offers plain RTP calls a colleague: 488, end reason
// srtp_mismatch.
func TestTLSSeatPlainRefused(t *testing.T) {
	t.Parallel()
	e, tlsAddr, certs := tlsCentre(t, "require", centreOpts{Seats: 2})
	plain := tlsSeat(t, e, tlsAddr, certs, 1001, "", testpeer.SeatOptions{})
	tlsSeat(t, e, tlsAddr, certs, 1002, "srtp-mand", testpeer.SeatOptions{})
	if err := plain.Dial("sip:1002@" + tlsAddr.String() + ";transport=tls"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.log.wait(`msg="call ended" .*reason=srtp_mismatch`, 10*time.Second); err != nil {
		t.Fatalf("a plain offer from a require seat was not refused: %v\n%s", err, e.log.tail(30))
	}
	waitUntil(t, "baresip told 488", 10*time.Second, func() bool { return strings.Contains(plain.Log(), "488") })
}

// knockPlain: plain SIP and a bogus handshake on the TLS port get no SIP
// answer, only a closed connection.
func knockPlain(t *testing.T, addr netip.AddrPort) {
	t.Helper()
	for _, msg := range []string{
		"OPTIONS sip:hotline@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK-k\r\nFrom: <sip:x@127.0.0.1>;tag=1\r\nTo: <sip:hotline@127.0.0.1>\r\nCall-ID: knock\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
		"\x16\x03\x01\x00\x05hello", // a handshake record that is no ClientHello
	} {
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, msg); err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(c)
		c.Close()
		if strings.Contains(string(b), "SIP/2.0") {
			t.Errorf("a SIP answer on the TLS port to a plain client: %q", b)
		}
	}
}

// TestTLSTrunkOutbound: a trunk with transport: tls. A follow-up call
// through the API dials the citizen over TLS: the carrier's TLS edge is
// stunnel (our test CA's certificate, which the engine verifies with
// sip.tls.ca) in front of SIPp over TCP; ACK and BYE use the same
// connection. Bridged to the seat, each hears the other.
func TestTLSTrunkOutbound(t *testing.T) {
	t.Parallel()
	certs := testpeer.MakeCerts(t)
	seatPeer, seatSIP := rtpParty(t, 1)
	citizenPeer := testpeer.NewRTPPeer(t)
	citizen := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_callee.xml"), Calls: 1, Transport: "t1",
		Vars:    map[string]string{"media_port": strconv.Itoa(citizenPeer.Port()), "hold_ms": "8000"},
		Timeout: 90 * time.Second,
	})
	front := "127.0.0.1:" + strconv.Itoa(testpeer.FreeUDPPort(t))
	edge := testpeer.StartStunnel(t, testpeer.StunnelOptions{Accept: front, Connect: citizen.Addr, CertFile: certs.KeyAndCert})
	e, _ := tlsCentreWith(t, certs, "off", centreOpts{Seats: 2, RTPTimeout: "30s",
		Outbound: "sip:" + front + "\n    transport: tls", Extra: "queues:\n  - {name: general, wrap_up: 1s}\n"})
	registerSeatRange(t, e, 1001, 1, seatSIP.Addr, 200, 50)
	agentStateIs(t, e, "1001", "ready")
	code, out := postOutbound(t, e, `{"number": "13800138000", "agent": "1001", "purpose": "followup"}`)
	if code != 202 || out["call_id"] == "" {
		t.Fatalf("outbound: %d %v\n%s", code, out, e.log.tail(20))
	}
	if _, err := e.log.wait(`msg="outbound: bridged"`, 30*time.Second); err != nil {
		t.Fatalf("%v\n%s\n%s", err, e.log.tail(30), edge.Log())
	}
	if !strings.Contains(edge.Log(), "accepted connection from 127.0.0.1") {
		t.Errorf("the citizen was not called through the TLS edge:\n%s", edge.Log())
	}
	seatPeer.SendTone(netip.AddrPort{}, 0, 600, 6*time.Second)
	if err := citizenPeer.WaitPackets(5, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	citizenPeer.SendTone(netip.AddrPort{}, 0, 1000, 5*time.Second)
	hears(t, "the seat", seatPeer, []float64{1000}, nil)
	hears(t, "the citizen", citizenPeer, []float64{600}, []float64{1000})
	if res := citizen.Wait(); res.ExitCode != 0 {
		t.Fatalf("citizen over TLS: %s\n%s", res, e.log.tail(20))
	}
	if r := outboundRecord(t, e, out["call_id"]); r.EndReason != "answered" || r.HangupBy != "caller" {
		t.Errorf("record: %+v", r)
	}
}

// TestTLSSRTPSeatToSeat: seats under srtp: offer, both over TLS. 1001
// (PCMA) offers RTP/SAVP (baresip's srtp-mand); 1002 (PCMU) is offered
// RTP/AVP with a=crypto and takes it (baresip's best-effort srtp). Both
// legs speak SRTP; the relay decrypts, transcodes and encrypts, and each
// seat hears the other's tone.
func TestTLSSRTPSeatToSeat(t *testing.T) {
	t.Parallel()
	e, tlsAddr, certs := tlsCentre(t, "offer", centreOpts{Seats: 3})
	a := tlsSeat(t, e, tlsAddr, certs, 1001, "srtp-mand", testpeer.SeatOptions{Codecs: []string{"pcma"}, SineHz: 440, Record: true})
	b := tlsSeat(t, e, tlsAddr, certs, 1002, "srtp", testpeer.SeatOptions{Codecs: []string{"pcmu"}, SineHz: 880, Record: true})
	if err := a.Dial("sip:1002@" + tlsAddr.String() + ";transport=tls"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*testpeer.Seat{a, b} {
		if _, err := s.WaitEvent("CALL_ESTABLISHED", 10*time.Second); err != nil {
			t.Fatalf("seat %s: %v\n%s", s.Extension, err, e.log.tail(40))
		}
	}
	for _, want := range []string{
		`msg="leg speaks SRTP" .*leg=caller suite=\S+ savp=true`,
		`msg="leg speaks SRTP" .*leg=seat suite=AES_CM_128_HMAC_SHA1_80 savp=false`,
	} {
		if _, err := e.log.wait(want, 5*time.Second); err != nil {
			t.Errorf("%s: %v", want, err)
		}
	}
	waitRelayed(t, e, 200)
	hangUpSeats(t, a, b)
	for _, c := range []struct {
		s  *testpeer.Seat
		hz float64
	}{{a, 880}, {b, 440}} {
		if !strings.Contains(c.s.Log(), "SRTP is Enabled") {
			t.Errorf("seat %s: baresip did not report SRTP in force", c.s.Extension)
		}
		pcm, _, err := testpeer.ReadWAV(c.s.Recording())
		if err != nil {
			t.Fatal(err)
		}
		if !testpeer.HasTone(pcm, c.hz) {
			t.Errorf("seat %s did not hear %v Hz over SRTP (level %.3f)", c.s.Extension, c.hz, testpeer.ToneLevel(pcm, c.hz))
		}
	}
}

// TestTLSSRTPHold: an SRTP seat puts its seat-to-seat call on hold and
// resumes it (re-INVITEs with a=crypto over TLS): the engine answers each
// with its key, and after the resume each seat hears the other again.
func TestTLSSRTPHold(t *testing.T) {
	t.Parallel()
	e, tlsAddr, certs := tlsCentre(t, "require", centreOpts{Seats: 3})
	a := tlsSeat(t, e, tlsAddr, certs, 1001, "srtp-mand", testpeer.SeatOptions{SineHz: 440, Record: true})
	b := tlsSeat(t, e, tlsAddr, certs, 1002, "srtp-mand", testpeer.SeatOptions{SineHz: 880, Record: true})
	if err := a.Dial("sip:1002@" + tlsAddr.String() + ";transport=tls"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*testpeer.Seat{a, b} {
		if _, err := s.WaitEvent("CALL_ESTABLISHED", 10*time.Second); err != nil {
			t.Fatalf("seat %s: %v\n%s", s.Extension, err, e.log.tail(40))
		}
	}
	waitRelayed(t, e, 100)
	for _, step := range []struct{ cmd, log string }{{"hold", `msg=re-INVITE .*hold=true`}, {"resume", `msg=re-INVITE .*hold=false`}} {
		if _, err := a.Command(step.cmd, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := e.log.wait(step.log, 10*time.Second); err != nil {
			t.Fatalf("%s: %v\n%s\n%s", step.cmd, err, e.log.tail(30), a.Log())
		}
	}
	base := metricValue(t, e, "hotline_rtp_packets_relayed_total")
	waitRelayed(t, e, int(base)+200)
	t.Logf("SRTP drops around the re-INVITEs: %v auth, %v replay",
		metricValue(t, e, `hotline_rtp_packets_dropped_total{reason="srtp_auth"}`),
		metricValue(t, e, `hotline_rtp_packets_dropped_total{reason="srtp_replay"}`))
	hangUpSeats(t, a, b)
	for _, c := range []struct {
		s  *testpeer.Seat
		hz float64
	}{{a, 880}, {b, 440}} {
		pcm, _, err := testpeer.ReadWAV(c.s.Recording())
		if err != nil {
			t.Fatal(err)
		}
		tail := pcm[max(0, len(pcm)-8000):]
		if !testpeer.HasTone(tail, c.hz) {
			t.Errorf("seat %s did not hear %v Hz after the resume (level %.3f)\n%s", c.s.Extension, c.hz, testpeer.ToneLevel(tail, c.hz), c.s.Log())
		}
	}
}

// hangUpSeats: seat a hangs up its call with b, b sees it end, and both
// baresips stop (their recordings are complete).
func hangUpSeats(t *testing.T, a, b *testpeer.Seat) {
	t.Helper()
	if err := a.Hangup(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitEvent("CALL_CLOSED", 10*time.Second); err != nil {
		t.Fatalf("callee not hung up: %v", err)
	}
	a.Stop()
	b.Stop()
}
