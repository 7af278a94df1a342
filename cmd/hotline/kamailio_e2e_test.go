package main

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/internal/testpeer"
	"github.com/hotline-cc/hotline/records"
	"github.com/hotline-cc/hotline/store/redistest"
)

// TestKamailioTwoNodes: the shipped Kamailio configuration in front of
// two engine nodes sharing one redis-server. 20 seats (one SIPp answering
// for all) register through Kamailio, which adds a Path; 100 carrier calls
// (SIPp) go through Kamailio and are spread over both nodes, each node
// reaching the seats through Kamailio whoever they registered with (the
// seats fail any INVITE without the proxy's Record-Route). Node A is
// killed with SIGKILL mid-run: Kamailio sends the next calls to node B,
// which frees A's seats; every call the carrier saw answered has its
// record (A's lost ones written when A starts again), and no seat ever
// had two calls at once.
func TestKamailioTwoNodes(t *testing.T) {
	t.Parallel()
	const seats, calls = 20, 100
	rds := redistest.Start(t)
	a := startEngine(t, kamailioCentre(rds.Addr, "node-a", seats, ""))
	b := startEngine(t, kamailioCentre(rds.Addr, "node-b", seats, ""))
	k := startKamailio(t, a, b)

	seatPort := testpeer.FreeUDPPort(t)
	registerThrough(t, k, 1001, seats, seatPort, a, b)
	testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_proxied.xml"), LocalPort: seatPort, RTPEcho: true,
		Vars: map[string]string{"codec": "8"}, BufferSize: 4 << 20, Timeout: 2 * time.Minute,
	})
	if na, nb := a.log.count(`msg=registration seat=`), b.log.count(`msg=registration seat=`); na == 0 || nb == 0 {
		t.Errorf("REGISTERs went %d to A and %d to B: the hash should use both", na, nb)
	}
	for _, e := range []*engine{a, b} {
		waitUntil(t, "every seat ready on both nodes", 20*time.Second, func() bool { return agentStates(t, e)["ready"] == seats })
	}

	uac := testpeer.StartSipp(t, testpeer.SippOptions{
		LocalIP: carrierIP, Scenario: testpeer.ScenarioPath(t, "uac_load.xml"), Target: k.Trunk.String(),
		Service: "12345", Calls: calls, Rate: 10, Limit: calls, Vars: map[string]string{"hold_ms": "7000"},
		BufferSize: 4 << 20, Timeout: 90 * time.Second, Extra: []string{"-recv_timeout", "20000"},
	})
	// Mid-run: both nodes have bridged calls to seats, then A dies.
	for _, e := range []*engine{a, b} {
		waitEvents(t, e, "call.answered", 3, 30*time.Second)
	}
	waitEvents(t, a, "call.started", 20, 30*time.Second)
	killed := time.Now()
	a.kill()

	if _, err := b.log.wait(`msg="seat recovered" .*reason=node_gone .*node=node-a`, acd.RecoveryBound+10*time.Second); err != nil {
		t.Errorf("node B freed none of A's seats: %v", err)
	}
	res := uac.Wait()
	t.Logf("carrier: %s", res)
	// The calls A held end with it (their BYE finds no node); every other
	// call completes. Every call is answered: one Kamailio sent to A after
	// the kill goes to B when A's answer does not come. Only a call A had
	// taken (its 100 Trying sent) and not yet answered is lost unanswered
	// (Kamailio fails over on no answer at all, not after a 100): A's
	// record of it says so if A had journaled it; if the kill came between
	// the 100 and the journal, no node knows of it.
	placed, answered := loggedCalls(res.Log, "calling "), loggedCalls(res.Log, "answered ")
	if len(placed) != calls || len(answered) < calls-2 {
		t.Errorf("%d of %d calls answered: Kamailio did not fail over\n%s", len(answered), len(placed), k.log.tail(30))
	}
	waitUntil(t, "B idle with every seat ready", 30*time.Second, func() bool {
		return metricValue(t, b, "hotline_calls_active") == 0 && agentStates(t, b)["ready"] == seats
	})

	again := launch(t, a.dir, a.cfg, "info") // writes the records of the calls A lost
	recsA, recsB := again.records(), b.waitRecords(1, time.Second)
	again.kill()
	checkTwoNodeRecords(t, recsA, recsB, answered, killed)
	var unknown []string
	for _, id := range placed {
		if !slices.Contains(answered, id) && !slices.ContainsFunc(recsA, func(r records.Record) bool {
			return r.SIPCallID == id && r.EndReason == "lost"
		}) {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 1 {
		t.Errorf("calls never answered, of which node A has no lost record: %v", unknown)
	} else if len(unknown) == 1 {
		t.Logf("call %s was taken by node A (100 Trying) just before the kill and not yet journaled: no record", unknown[0])
	}
}

// loggedCalls are the Call-IDs uac_load.xml logged after prefix.
func loggedCalls(log, prefix string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if id, ok := strings.CutPrefix(strings.TrimSpace(l), prefix); ok && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// checkTwoNodeRecords: both nodes took calls; A's all started before it
// was killed and B took calls after; every answered call has a record;
// no seat had two calls at once (a lost call of A held its seat at most
// until the kill).
func checkTwoNodeRecords(t *testing.T, recsA, recsB []records.Record, answered []string, killed time.Time) {
	t.Helper()
	bySIP := map[string]bool{}
	type span struct {
		from, to time.Time
		id       string
	}
	seat := map[string][]span{}
	afterKill := 0
	for i, rs := range [][]records.Record{recsA, recsB} {
		for _, r := range rs {
			bySIP[r.SIPCallID] = true
			start := time.Time(r.StartedAt)
			if i == 0 && start.After(killed) {
				t.Errorf("node A has a call started after its kill: %+v", r)
			}
			if i == 1 && start.After(killed) {
				afterKill++
			}
			if r.Agent == "" || r.AnsweredAt == nil {
				continue
			}
			end := time.Time(r.EndedAt)
			if r.EndReason == "lost" && end.After(killed) {
				end = killed
			}
			seat[r.Agent] = append(seat[r.Agent], span{time.Time(*r.AnsweredAt), end, r.CallID})
		}
	}
	t.Logf("node A: %d records, node B: %d (%d started after A was killed); %d seats took calls",
		len(recsA), len(recsB), afterKill, len(seat))
	if len(recsA) < 10 || len(recsB) < 10 || afterKill == 0 {
		t.Errorf("calls not spread: A %d, B %d, B after the kill %d", len(recsA), len(recsB), afterKill)
	}
	missing := 0
	for _, id := range answered {
		if !bySIP[id] {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d answered calls have no record", missing)
	}
	for ext, spans := range seat {
		slices.SortFunc(spans, func(x, y span) int { return x.from.Compare(y.from) })
		for i := 1; i < len(spans); i++ {
			if spans[i].from.Before(spans[i-1].to) {
				t.Errorf("seat %s double-booked: %s answered %v before %s ended %v", ext,
					spans[i].id, spans[i].from.Format(time.StampMilli), spans[i-1].id, spans[i-1].to.Format(time.StampMilli))
			}
		}
	}
	if len(seat) == 0 {
		t.Error("no call reached a seat")
	}
}

// TestKamailioDrainedNodeTakenOut: node A is told to stop (SIGTERM) while
// it holds a call, so it drains: its answer to Kamailio's OPTIONS probe
// becomes 503. Kamailio takes it out of rotation: the next ten carrier
// calls all go to node B, and not one INVITE reaches A to be refused; A's
// own call goes on.
func TestKamailioDrainedNodeTakenOut(t *testing.T) {
	t.Parallel()
	const calls = 10
	rds := redistest.Start(t)
	opts := kamailioCentre(rds.Addr, "node-a", 1, "")
	opts.Grace = "60s"
	a := startEngine(t, opts)
	b := startEngine(t, kamailioCentre(rds.Addr, "node-b", 1, ""))
	k := startKamailio(t, a, b)

	// A call A holds (sent to A directly from the proxy's trunk address,
	// which A's trunk ACL names) keeps A draining rather than gone.
	held := testpeer.StartSipp(t, testpeer.SippOptions{
		LocalIP: kamTrunkIP, Scenario: testpeer.ScenarioPath(t, "uac_load.xml"), Target: a.target(),
		Service: "12345", Calls: 1, Vars: map[string]string{"hold_ms": "60000"}, Timeout: 90 * time.Second,
	})
	defer held.Kill()
	waitEvents(t, a, "call.started", 1, 10*time.Second)
	a.signal(syscall.SIGTERM)
	if _, err := a.log.wait(`msg="draining: new calls get 503"`, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	// Two probes answered 503: Kamailio has seen the first.
	probed := `hotline_sip_responses_total{code="503",method="OPTIONS"}`
	waitUntil(t, "two OPTIONS probes answered 503", 10*time.Second, func() bool { return metricValue(t, a, probed) >= 2 })

	res := testpeer.RunSipp(t, testpeer.SippOptions{
		LocalIP: carrierIP, Scenario: testpeer.ScenarioPath(t, "uac_load.xml"), Target: k.Trunk.String(),
		Service: "12345", Calls: calls, Rate: 10, Limit: calls, Vars: map[string]string{"hold_ms": "1000"},
		Timeout: 30 * time.Second,
	})
	if res.Successful != calls {
		t.Fatalf("callers through kamailio: %s", res)
	}
	if n := metricValue(t, a, `hotline_calls_rejected_total{reason="draining"}`); n != 0 {
		t.Errorf("%v INVITEs reached the draining node: Kamailio did not take it out", n)
	}
	if n := len(b.waitRecords(calls, 10*time.Second)); n != calls {
		t.Errorf("node B has %d records, want %d", n, calls)
	}
	if n := metricValue(t, a, "hotline_calls_active"); n != 1 {
		t.Errorf("node A has %v calls, want its own 1 going on", n)
	}
}

// TestKamailioStrangerCannotRouteThrough: Kamailio honours a pre-loaded
// Route only from the engine nodes. A stranger's INVITE to a phone with
// Kamailio as its Route (as a node sends a seat's) is not relayed: the Route
// is dropped, the INVITE goes to a node as any new call from that side,
// and the node refuses it (403: no seat registered from there). The phone
// hears nothing.
func TestKamailioStrangerCannotRouteThrough(t *testing.T) {
	t.Parallel()
	rds := redistest.Start(t)
	e := startEngine(t, kamailioCentre(rds.Addr, "node-a", 1, ""))
	k := startKamailio(t, e)
	phone, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer phone.Close()
	stranger, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	me, target := stranger.LocalAddr().String(), phone.LocalAddr().String()
	invite := fmt.Sprintf("INVITE sip:1001@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-stranger;rport\r\n"+
		"Route: <sip:%s;lr>\r\nFrom: <sip:stranger@%s>;tag=s1\r\nTo: <sip:1001@%s>\r\n"+
		"Call-ID: stranger@%s\r\nCSeq: 1 INVITE\r\nContact: <sip:stranger@%s>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		target, me, k.Seat, me, target, me, me)
	if _, err := stranger.WriteToUDPAddrPort([]byte(invite), k.Seat); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	_ = stranger.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		n, _, err := stranger.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("no final answer to the stranger's INVITE: %v", err)
		}
		if line, _, _ := strings.Cut(string(buf[:n]), "\r\n"); !strings.HasPrefix(line, "SIP/2.0 1") {
			if line != "SIP/2.0 403 Forbidden" {
				t.Errorf("stranger got %q, want 403 from the node", line)
			}
			break
		}
	}
	_ = phone.SetReadDeadline(time.Now()) // anything relayed would be here by now: the answer came after it
	if n, _, err := phone.ReadFromUDPAddrPort(buf); err == nil {
		t.Errorf("the phone received the stranger's request:\n%s", buf[:n])
	}
}

// TestKamailioSeatDialsThroughProxy: a seat registered through Kamailio
// dials a feature code (*12, log out) through it. Kamailio sends the
// INVITE to the node the seat registered with (the same hash of its
// user), which challenges it (407), knows it by the user it authenticates
// as (its source is the proxy's) and carries out the code: the seat is
// logged out on both nodes.
func TestKamailioSeatDialsThroughProxy(t *testing.T) {
	t.Parallel()
	rds := redistest.Start(t)
	a := startEngine(t, kamailioCentre(rds.Addr, "node-a", 1, ""))
	b := startEngine(t, kamailioCentre(rds.Addr, "node-b", 1, ""))
	k := startKamailio(t, a, b)
	port := testpeer.FreeUDPPort(t)
	registerThrough(t, k, 1001, 1, port, a, b)
	home, other := a, b
	if b.log.count(`msg=registration seat=1001 registered=true`) > 0 {
		home, other = b, a
	}
	agentStateIs(t, other, "1001", "ready")
	res := testpeer.RunSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uac_seat_auth.xml"), Target: k.Seat.String(), LocalPort: port,
		Service: "*12", Calls: 1, InfFile: testpeer.WriteInf(t, [][]string{testpeer.RegistrationRow("1001", "demo-1001", "127.0.0.1:"+strconv.Itoa(port))}),
		Timeout: 40 * time.Second, Extra: []string{"-auth_uri", "*12@" + k.Seat.String()},
	})
	if res.ExitCode != 0 || res.Successful != 1 {
		t.Fatalf("*12 as 1001 through kamailio: %s\n%s", res, home.log.tail(30))
	}
	if _, err := home.log.wait(`msg="agent state changed by feature code" .*seat=1001`, 5*time.Second); err != nil {
		t.Errorf("the node 1001 registered with did not take its call: %v", err)
	}
	agentStateIs(t, other, "1001", "logged_out")
}
