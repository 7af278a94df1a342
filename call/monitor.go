package call

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/media"
	"github.com/hotline-cc/hotline/records"
	"github.com/hotline-cc/hotline/sip"
)

// Supervisor monitoring (issue 10). A seat with role: supervisor watches a
// call of a queue it may monitor whose agent is monitorable: the engine
// rings the supervisor's phone with an auto-answer hint, and once it
// answers puts it in the call's mixing room:
//
//	listen    the supervisor hears caller and agent; nobody hears it
//	whisper   only the agent hears the supervisor
//	barge     all hear all
//	takeover  the agent's leg is released; supervisor and caller talk
//
// The mode may change while it lasts; it ends by the API, by the
// supervisor hanging up, or with the call. Every mode is an entry of the
// record's monitors[].

// Monitoring modes.
const (
	MonListen   = "listen"
	MonWhisper  = "whisper"
	MonBarge    = "barge"
	MonTakeover = "takeover"
)

// monitor is a supervisor's monitoring of the call; owned by the call.
type monitor struct {
	ext, mode string
	l         *leg
	up        bool // answered and in the room
	// peer: the supervisor's phone called in (*31<ext>): l.m is the
	// session of that call (peer), which owns the SIP leg and the session;
	// this call only puts the session in its room and tells peer when the
	// monitoring is over. nil: the engine dialled the supervisor.
	peer *Call
}

type (
	// evMonReq: the API starts, changes (mode) or ends (stop) monitoring.
	evMonReq struct {
		op, sup, mode string
		reply         chan error
		// attach (a supervisor's phone called in): its session and call
		sess *media.Session
		peer *Call
	}
	evMonAnswer struct {
		l   *leg
		err error
	}
)

// Monitor asks the call callID to be monitored by supervisor sup in mode.
func (e *Engine) Monitor(callID, sup, mode string) error {
	return e.askCall(callID, func(r chan error) any { return evMonReq{op: "start", sup: sup, mode: mode, reply: r} })
}

// MonitorMode changes the mode of the call's monitoring.
func (e *Engine) MonitorMode(callID, mode string) error {
	return e.askCall(callID, func(r chan error) any { return evMonReq{op: "mode", mode: mode, reply: r} })
}

// MonitorStop ends the call's monitoring.
func (e *Engine) MonitorStop(callID string) error {
	return e.askCall(callID, func(r chan error) any { return evMonReq{op: "stop", reply: r} })
}

func (c *Call) onMonReq(req evMonReq) *reason {
	req.reply <- c.monOp(req)
	return nil
}

func (c *Call) monOp(req evMonReq) error {
	switch req.op {
	case "start":
		return c.startMonitor(req.sup, req.mode)
	case "mode":
		if c.mon == nil {
			return fmt.Errorf("%w: the call is not monitored", ErrTransferState)
		}
		if !validMonMode(req.mode) {
			return fmt.Errorf("%w: mode %q (listen, whisper, barge or takeover)", ErrTransferState, req.mode)
		}
		if req.mode == MonTakeover && c.mon.peer != nil {
			return fmt.Errorf("%w: takeover needs a monitoring the engine dialled (POST /monitor), not one the supervisor's phone started", ErrTransferState)
		}
		c.mon.mode = req.mode
		if c.mon.up {
			return c.applyMonMode()
		}
		return nil
	case "stop":
		if c.mon == nil {
			return fmt.Errorf("%w: the call is not monitored", ErrTransferState)
		}
		c.stopMonitor()
		return nil
	case "attach":
		return c.attachMonitor(req.sup, req.mode, req.sess, req.peer)
	}
	return fmt.Errorf("%w: unknown op %q", ErrTransferState, req.op)
}

func validMonMode(m string) bool {
	return m == MonListen || m == MonWhisper || m == MonBarge || m == MonTakeover
}

// mayMonitor: whether sup may start monitoring the call in mode (""
// listen); the mode to use.
func (c *Call) mayMonitor(sup, mode string) (string, error) {
	if mode == "" {
		mode = MonListen
	}
	if !validMonMode(mode) {
		return "", fmt.Errorf("%w: mode %q (listen, whisper, barge or takeover)", ErrTransferState, mode)
	}
	supSeat, ok := c.cfg.Seat(sup)
	agent, _ := c.cfg.Seat(c.answeredSeat)
	if !ok || !supSeat.MayMonitor(c.rec.Queue, agent) {
		return "", fmt.Errorf("%w: %s may not monitor this call", ErrTransferRefused, sup)
	}
	if c.mon != nil || c.answeredSeat == "" || c.b == nil || c.b.kind != legSeat || (c.st != stBridged && c.st != stConference) {
		return "", fmt.Errorf("%w: monitoring needs a call bridged to an agent, not monitored yet (state %s)", ErrTransferState, c.st)
	}
	return mode, nil
}

// startMonitor rings the supervisor's phone for a call bridged to an agent.
func (c *Call) startMonitor(sup, mode string) error {
	mode, err := c.mayMonitor(sup, mode)
	if err != nil {
		return err
	}
	reg, ok := c.e.opts.Seats.Lookup(sup)
	if !ok {
		return fmt.Errorf("%w: supervisor %s is not registered", ErrTransferState, sup)
	}
	l := &leg{kind: legSeat, ext: sup, rangAt: c.e.opts.Now(), sdp: newLegSDP()}
	l.sdp.srtp.policy = srtpPolicy(c.cfg, legSeat, sup, "")
	l.m, err = c.e.openSession(c.cfg, c.log.With("leg", "supervisor"), netip.AddrPort{}, netip.Addr{}, c.in.sdp.codec, offerDTMF,
		func(d rune) { c.tryPost(evMonKey{d}) }, func() { c.tryPost(evMonGone{}) })
	if err != nil {
		return fmt.Errorf("%w: no RTP port: %v", ErrTransferState, err)
	}
	err = l.dial(c.e.dialer, c.in.sdp.codec.Name, c.cfg.SIP.SeatRingTimeout,
		sip.DialOptions{Target: reg.Target(), FromUser: c.rec.Caller, FromDisplay: "monitor " + c.answeredSeat, AutoAnswer: true},
		c.post, nil, func(err error) any { return evMonAnswer{l: l, err: err} })
	if err != nil {
		l.drop()
		return fmt.Errorf("%w: dialling %s: %v", ErrTransferState, sup, err)
	}
	l.d.SetEvents(func(ev sip.Event) { c.post(evLeg{mon: true, ev: ev}) })
	c.mon = &monitor{ext: sup, mode: mode, l: l}
	c.log.Info("monitoring", "supervisor", sup, "mode", mode)
	return nil
}

// attachMonitor: the supervisor's phone called in (*31<ext> and so on,
// monitorByPhone) to monitor this call; its session s joins the room at
// once (the phone is answered once this call took it).
func (c *Call) attachMonitor(sup, mode string, s *media.Session, peer *Call) error {
	if mode == MonTakeover {
		return fmt.Errorf("%w: no takeover from the supervisor's phone", ErrTransferState)
	}
	mode, err := c.mayMonitor(sup, mode)
	if err != nil {
		return err
	}
	if err := c.ensureRoom(); err != nil {
		return fmt.Errorf("%w: no room: %v", ErrTransferState, err)
	}
	if err := c.room.Add(s, media.Listen, nil); err != nil {
		return fmt.Errorf("%w: %v", ErrTransferState, err)
	}
	c.mon = &monitor{ext: sup, mode: mode, l: &leg{kind: legSeat, ext: sup, m: s}, up: true, peer: peer}
	c.log.Info("monitoring from the supervisor's phone", "supervisor", sup, "mode", mode)
	return c.applyMonMode()
}

type (
	evMonKey    struct{ d rune } // a digit from the supervisor's phone
	evMonGone   struct{}         // the supervisor's media stopped
	evMonDetach struct {         // the supervisor's call (phone-started) ended
		s *media.Session
	}
	evMonOver struct{} // to the supervisor's call: the monitoring is over
)

// release lets go of the supervisor's leg: the engine's own dialled leg is
// hung up and closed; a phone-started one is its call's, which is told.
func (m *monitor) release(log *slog.Logger) {
	if m.peer != nil {
		m.peer.tryPost(evMonOver{})
		return
	}
	m.l.hangupLater(log)
	m.l.drop()
}

// onMonDetach: the supervisor's own call ended (it hung up): its session
// leaves the room.
func (c *Call) onMonDetach(s *media.Session) {
	if c.mon != nil && c.mon.peer != nil && c.mon.l.m == s {
		c.mon.peer = nil
		c.stopMonitor()
	}
}

// onMonAnswer: the supervisor's phone answered (into the room) or not.
func (c *Call) onMonAnswer(l *leg, err error) *reason {
	m := c.mon
	if m == nil || m.l != l {
		if err == nil {
			l.hangupLater(c.log)
		}
		return nil
	}
	if err = l.settle(c.log, err); err != nil {
		c.log.Info("the supervisor did not answer", "supervisor", m.ext, "error", err)
		l.drop()
		c.mon = nil
		return nil
	}
	if err := c.ensureRoom(); err != nil {
		c.log.Error("no room for monitoring", "error", err)
		c.stopMonitor()
		return nil
	}
	if err := c.room.Add(l.m, media.Listen, nil); err != nil {
		c.log.Error("monitoring: the room refused the supervisor", "error", err)
		c.stopMonitor()
		return nil
	}
	m.up = true
	if err := c.applyMonMode(); err != nil {
		c.log.Error("monitoring mode", "error", err)
	}
	return nil
}

// ensureRoom makes the call's two parties a room, if they are not one.
func (c *Call) ensureRoom() error {
	if c.room != nil {
		return nil
	}
	room, err := c.e.opts.Media.NewRoom(c.log.With("part", "room"))
	if err != nil {
		return err
	}
	for _, s := range []*media.Session{c.in.m, c.b.m} {
		if err := room.Add(s, media.Talk, nil); err != nil {
			_ = room.Close()
			return err
		}
	}
	c.room = room
	return nil
}

// applyMonMode sets the supervisor's place in the room for its mode, and
// notes the mode in the record.
func (c *Call) applyMonMode() error {
	defer c.tapRecording()
	m := c.mon
	c.closeMonEntry()
	now := records.Time(c.e.opts.Now())
	c.rec.Monitors = append(c.rec.Monitors, records.Monitor{Supervisor: m.ext, Mode: m.mode, From: now})
	c.journal(records.EventCallMonitor)
	switch m.mode {
	case MonListen:
		return c.room.SetMode(m.l.m, media.Listen, nil)
	case MonWhisper:
		return c.room.SetMode(m.l.m, media.Whisper, c.b.m)
	case MonBarge:
		return c.room.SetMode(m.l.m, media.Talk, nil)
	case MonTakeover:
		if err := c.room.SetMode(m.l.m, media.Talk, nil); err != nil {
			return err
		}
		_ = c.room.Remove(c.b.m)
		c.agentLeaves()
		// The supervisor is the call's party now.
		c.b, c.seat = m.l, m.ext
		c.b.d.SetEvents(func(ev sip.Event) { c.post(evLeg{b: true, ev: ev}) })
		c.mon = nil
		c.closeRoom()
		media.Bridge(c.in.m, c.b.m)
		c.setState(stBridged)
	}
	return nil
}

// closeMonEntry ends the record's open monitors[] entry.
func (c *Call) closeMonEntry() {
	if n := len(c.rec.Monitors); n > 0 && c.rec.Monitors[n-1].To == nil {
		t := records.Time(c.e.opts.Now())
		c.rec.Monitors[n-1].To = &t
	}
}

// stopMonitor ends the monitoring: the supervisor's leg is hung up and
// leaves the room (a room of two relays again).
func (c *Call) stopMonitor() {
	m := c.mon
	if m == nil {
		return
	}
	c.mon = nil
	c.closeMonEntry()
	c.journal(records.EventCallMonitor)
	if c.room != nil && m.up {
		_ = c.room.Remove(m.l.m)
	}
	m.release(c.log)
	if c.room != nil && c.room.Len() <= 2 && c.xfer == nil {
		c.closeRoom()
		media.Bridge(c.in.m, c.b.m)
	}
	c.log.Info("monitoring ended", "supervisor", m.ext)
}

// onMonKey: the supervisor's keys 4, 5 and 6 switch listen, whisper and
// barge.
func (c *Call) onMonKey(d rune) {
	modes := map[rune]string{'4': MonListen, '5': MonWhisper, '6': MonBarge}
	if mode, ok := modes[d]; ok && c.mon != nil && c.mon.up && c.mon.mode != mode {
		c.mon.mode = mode
		if err := c.applyMonMode(); err != nil {
			c.log.Warn("monitoring mode by key", "error", err)
		}
	}
}

// onMonLeg: the supervisor hung up (or its phone's SIP went away).
func (c *Call) onMonLeg(ev sip.Event) *reason {
	if _, bye := ev.(sip.EventBye); bye && c.mon != nil {
		c.mon.l.d = nil
		c.stopMonitor()
	}
	return nil
}

// monitorCodes are the codes a supervisor's phone dials, followed by the
// agent's extension: *31 listen, *32 whisper, *33 barge.
var monitorCodes = map[string]string{
	config.MonitorCodes[0]: MonListen, config.MonitorCodes[1]: MonWhisper, config.MonitorCodes[2]: MonBarge,
}

// monitorCode reads *31<ext>, *32<ext> or *33<ext>.
func monitorCode(dialled string) (mode, agent string, ok bool) {
	if len(dialled) < 4 {
		return "", "", false
	}
	mode, ok = monitorCodes[dialled[:3]]
	return mode, dialled[3:], ok
}

// monitorByPhone: supervisor sup's phone dialled a monitoring code for
// agent's call. This call's session joins that call's room (attach); then
// the phone is answered. 403 when sup may not monitor it, 480 when the
// agent is on no call of this node, 486 when the call cannot be monitored
// now (already monitored, not bridged).
func (c *Call) monitorByPhone(sup, mode, agent string) *reason {
	c.rec.LineMode = "monitor"
	target, ok := c.e.callOfAgent(agent)
	if !ok || target == c {
		c.log.Info("monitoring code: the agent is on no call here", "agent", agent)
		return reasonPtr(endUnavailable)
	}
	if r := c.setupCallerMedia(); r != nil {
		return r
	}
	c.e.seats.reserve(sup, c) // no queue call for the supervisor meanwhile
	reply := make(chan error, 1)
	var err error
	if !target.post(evMonReq{op: "attach", sup: sup, mode: mode, sess: c.in.m, peer: c, reply: reply}) {
		err = fmt.Errorf("%w: the call ended", ErrNoSuchCall)
	} else {
		select {
		case err = <-reply:
		case <-time.After(acdTimeout):
			err = fmt.Errorf("%w: the call did not answer", ErrTransferState)
			target.tryPost(evMonDetach{s: c.in.m}) // should it take it after all
		}
	}
	switch {
	case errors.Is(err, ErrTransferRefused):
		c.log.Warn("monitoring code refused", "agent", agent, "error", err)
		return reasonPtr(endForbidden)
	case errors.Is(err, ErrNoSuchCall):
		return reasonPtr(endUnavailable)
	case err != nil:
		c.log.Info("monitoring code: the call cannot be monitored now", "agent", agent, "error", err)
		return reasonPtr(endBusy)
	}
	c.watching = target
	c.setState(stMonitoring)
	c.answerCaller()
	return nil
}
