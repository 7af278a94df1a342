package call

import (
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/media"
	"github.com/hotline-cc/hotline/sip"
)

// supportedCodecs are the audio codecs hotline negotiates, in preference order.
var supportedCodecs = []string{sip.CodecPCMU, sip.CodecPCMA}

// offerDTMF is the telephone-event payload type we offer on legs we open.
const offerDTMF = 101

// legSDP is our side of one leg's offer/answer: the session id and version
// (incremented for each new description, RFC 3264 8), the codec and DTMF
// payload type in force, and the m= lines of the peer's last offer (kept in
// every description we send: RFC 3264 §6, §8).
type legSDP struct {
	id, version uint64
	codec       sip.Format
	dtmf        uint8
	lines       []sip.MediaLine
	index       int
	srtp        legSRTP // SDES keys and policy (srtp.go)
}

// answering keeps the m= lines of an offer the leg answers.
func (l *legSDP) answering(offer sip.MediaDesc) { l.lines, l.index = offer.Lines, offer.Index }

func newLegSDP() legSDP { return legSDP{id: rand.Uint64() >> 1} }

// build returns our session description for the leg, with only the codec in
// force (plus telephone-event when negotiated).
func (l *legSDP) build(addr netip.AddrPort, dir string) []byte {
	l.version++
	secure, crypto := l.srtp.answerCrypto()
	return sip.BuildSDP(sip.SDPParams{
		SessionID: l.id, Version: l.version, Addr: addr,
		Formats: []sip.Format{l.codec}, DTMF: l.dtmf, Direction: dir, Username: "hotline",
		Lines: l.lines, Index: l.index, Secure: secure, Crypto: crypto,
	})
}

// offer returns the offer we send on a new outbound leg, or in the 200 to
// a late-offer INVITE or re-INVITE: every codec we support, first the one
// the caller uses (so that no transcoding is needed when the far side
// agrees), telephone-event at the PT in force (else offerDTMF), and the
// m= lines of the peer's last offer, if any.
func (l *legSDP) offer(addr netip.AddrPort, first string) []byte {
	l.version++
	dtmf := l.dtmf
	if dtmf == 0 {
		dtmf = offerDTMF
	}
	formats := sip.DefaultFormats(dtmf)
	slices.SortStableFunc(formats, func(a, b sip.Format) int {
		switch {
		case a.Name == first && b.Name != first:
			return -1
		case b.Name == first && a.Name != first:
			return 1
		}
		return 0
	})
	secure, crypto := l.srtp.offerCrypto()
	return sip.BuildSDP(sip.SDPParams{
		SessionID: l.id, Version: l.version, Addr: addr, Formats: formats,
		DTMF: dtmf, Direction: sip.DirSendRecv, Username: "hotline", Lines: l.lines, Index: l.index,
		Secure: secure, Crypto: crypto,
	})
}

// admit decides what to do with a new INVITE. A nil result means the call
// goes on (answering or ringing is under way); otherwise the call ends with
// the reason, whose SIP code the caller gets.
func (c *Call) admit() *reason {
	if o := c.a.Origin(); o.Seat != "" {
		return c.admitSeatCall(o.Seat)
	}
	return c.admitTrunkCall(c.a.Origin().Trunk)
}

// admitTrunkCall: a carrier call. The dialled number picks the line; the call
// is answered, greeted, and queued for a seat.
func (c *Call) admitTrunkCall(trunk string) *reason {
	dialled := c.a.Dialled()
	c.log = c.log.With("trunk", trunk, "dialled", dialled)
	for _, em := range c.cfg.Emergency {
		if em.Number == dialled {
			c.log.Warn("emergency number refused on the trunk: it is a linkage target only")
			return reasonPtr(endForbidden)
		}
	}
	line, ok := c.cfg.Line(dialled)
	if !ok || !trunkMayCall(c.cfg, trunk, dialled) {
		return reasonPtr(endNoRoute)
	}
	c.line = line
	c.rec.LineMode, c.rec.Skill, c.rec.Queue = line.Mode, line.Skill, line.Skill
	c.metricStart(line.Number)
	if r := c.setupCallerMedia(); r != nil {
		return r
	}
	if c.departmentFirst() {
		c.log.Info("parallel answering: ringing the department first", "target", line.Target)
		c.setState(stRinging)
		return c.dialOut(legDepartment, line.Target, line.RingTimeout)
	}
	c.answerCaller()
	return nil
}

// departmentFirst: a parallel-answering or sub-centre line within the
// department's working hours offers the call to the department's own target
// before 12345 answers it.
func (c *Call) departmentFirst() bool {
	l := c.line
	if (l.Mode != config.ModeParallel && l.Mode != config.ModeSubcentre) || l.Target == "" {
		return false
	}
	return c.ps.plan.Open(l.Hours, c.e.opts.Now().In(c.e.opts.Location))
}

// admitSeatCall: a registered seat calls another seat by extension.
func (c *Call) admitSeatCall(from string) *reason {
	c.fromSeat = from
	c.rec.LineMode = "internal"
	target := c.a.Dialled()
	c.log = c.log.With("seat", from, "dialled", target)
	c.metricStart("internal")
	if cmd, ok := c.e.acd.ParseFeatureCode(target); ok {
		return c.featureCode(from, cmd)
	}
	if mode, agent, ok := monitorCode(target); ok {
		return c.monitorByPhone(from, mode, agent)
	}
	if _, ok := c.cfg.Seat(target); !ok || target == from {
		return c.admitSeatOutside(from, target)
	}
	reg, ok := c.e.opts.Seats.Lookup(target)
	if !ok {
		return reasonPtr(endUnavailable)
	}
	if c.e.onQueueCall(target) || !c.e.seats.reserve(target, c) {
		return reasonPtr(endBusy)
	}
	c.toSeat = target
	c.e.seats.reserve(from, c)
	if r := c.setupCallerMedia(); r != nil {
		return r
	}
	return c.ring(seatOffer{ext: target, contact: reg.Target()})
}

// admitSeatOutside: a seat dials what is not another seat: a directory
// entry (a desk phone's own consult or conference button reaching 12333 or
// 110) is dialled and bridged like a seat-to-seat call; one of the centre's
// own lines (an agent testing 12345) is taken as a call into that line;
// anything else is refused (403).
func (c *Call) admitSeatOutside(from, target string) *reason {
	if target == from {
		return reasonPtr(endForbidden)
	}
	if entry, err := c.cfg.Directory.Resolve(target); err == nil && entry.Number == target {
		c.e.seats.reserve(from, c)
		if r := c.setupCallerMedia(); r != nil {
			return r
		}
		c.setState(stRinging)
		c.log.Info("seat dials a directory entry", "entry", entry.Name)
		return c.dialOut(legDirectory, c.e.entryURI(c.cfg, entry), entry.RingTimeout)
	}
	if _, ok := c.cfg.Line(target); ok {
		c.e.seats.reserve(from, c)
		c.log.Info("seat calls the centre's line", "line", target)
		return c.admitTrunkCall("")
	}
	c.log.Info("seat dialled a number outside the directory, the seats and the lines")
	return reasonPtr(endForbidden)
}

func trunkMayCall(cfg *config.Config, name, number string) bool {
	for _, t := range cfg.Trunks {
		if t.Name == name {
			return t.MayCall(number)
		}
	}
	return true
}

// setupCallerMedia negotiates the caller's offer and opens the caller's RTP
// session: 488 when no codec is common, 503 when no RTP port is free.
func (c *Call) setupCallerMedia() *reason {
	if !c.a.HasOffer() {
		return c.setupLateOffer()
	}
	policy := c.callerSRTP()
	offer, err := c.callerOffer(policy != config.SRTPOff)
	if err != nil {
		c.log.Info("unusable SDP offer", "error", err)
		return reasonPtr(endNoCodec)
	}
	codec, dtmf, err := sip.Negotiate(offer, supportedCodecs)
	if err != nil {
		return reasonPtr(endNoCodec)
	}
	sess, err := c.newSession(false, offer.Addr, offer.Addr.Addr(), codec, dtmf)
	if err != nil {
		c.log.Error("no RTP session for the caller", "error", err)
		return reasonPtr(endNoMedia)
	}
	if !reachable(sess.LocalAddr().Addr(), offer.Addr.Addr()) {
		c.log.Info("SDP offer's media address is of another IP family than our RTP address",
			"offer", offer.Addr, "rtp", sess.LocalAddr())
		_ = sess.Close()
		return reasonPtr(endAddrFamily)
	}
	lsdp := newLegSDP()
	lsdp.srtp.policy = policy
	if err := lsdp.srtp.acceptOffer(offer, sess); err != nil {
		c.log.Info("the caller's SRTP offer does not fit its policy", "srtp", policy, "secure", offer.Secure, "crypto", len(offer.Crypto), "error", err)
		_ = sess.Close()
		return reasonPtr(endSRTP)
	}
	lsdp.srtp.logKeyed(c.log, "caller")
	sess.SetSignal(c.a.Source().Addr()) // a caller behind NAT is learnt there only
	c.in.m, c.in.sdp = sess, lsdp
	c.in.sdp.codec, c.in.sdp.dtmf = codec, dtmf
	c.in.sdp.answering(offer)
	c.aOfferDir = offer.Direction
	c.rec.Codec = codec.Name
	return nil
}

// lateOfferCodec is what a late-offer caller's session starts with until
// the ACK's answer settles it: A-law, the G.711 law of China's networks.
var lateOfferCodec = sip.Format{PT: 8, Name: sip.CodecPCMA, Rate: 8000}

// setupLateOffer opens the caller's RTP session for an INVITE without SDP
// (RFC 3261 13.2.1): our 200 will carry the offer (answerCaller) and the
// ACK the answer (onAnswered, lateAnswer).
func (c *Call) setupLateOffer() *reason {
	sess, err := c.newSession(false, netip.AddrPort{}, c.a.Source().Addr(), lateOfferCodec, offerDTMF)
	if err != nil {
		c.log.Error("no RTP session for the caller", "error", err)
		return reasonPtr(endNoMedia)
	}
	sess.SetSignal(c.a.Source().Addr())
	c.in.m, c.in.sdp = sess, newLegSDP()
	c.in.sdp.codec = lateOfferCodec
	c.in.sdp.srtp.policy = c.callerSRTP()
	c.lateOffer = true
	c.log.Info("INVITE without SDP: our offer goes in the 200, the answer comes in the ACK")
	return nil
}

// lateAnswer applies the answer the caller's ACK carried to our offer; an
// ACK without a usable one ends the call (BYE).
func (c *Call) lateAnswer() *reason {
	c.lateOffer = false
	ans, perr := sip.ParseSDP(c.a.AckSDP())
	codec, dtmf, nerr := sip.Negotiate(ans, supportedCodecs)
	if perr == nil && !reachable(c.in.m.LocalAddr().Addr(), ans.Addr.Addr()) {
		perr = errAddrFamily
	}
	if perr != nil || nerr != nil {
		c.log.Warn("the ACK carried no usable answer to our offer", "error", errors.Join(perr, nerr))
		return reasonPtr(endNoSDPAnswer)
	}
	if err := c.in.sdp.srtp.acceptAnswer(ans, c.in.m); err != nil {
		c.log.Warn("the ACK's answer does not fit the caller's SRTP policy", "error", err)
		return reasonPtr(endSRTP)
	}
	c.in.sdp.srtp.logKeyed(c.log, "caller")
	mc, _ := media.CodecByName(codec.Name)
	c.in.m.Update(media.Params{Remote: ans.Addr, Codec: mc, DTMF: dtmf})
	c.in.sdp.codec, c.in.sdp.dtmf = codec, dtmf
	c.aOfferDir = ans.Direction // an answer's direction maps to ours as an offer's does
	c.rec.Codec = codec.Name
	return nil
}

// reachable: our RTP socket on local can send to remote. A socket on a
// specific or unspecified IPv4 address reaches IPv4 only, one on a specific
// IPv6 address IPv6 only; one on "::" both (dual stack). An unspecified
// remote (c=0.0.0.0, RFC 2543 hold) receives nothing anyway.
func reachable(local, remote netip.Addr) bool {
	if (local.Is6() && local.IsUnspecified()) || remote.IsUnspecified() {
		return true
	}
	return local.Unmap().Is4() == remote.Unmap().Is4()
}

// newSession opens an RTP session for one leg. The caller's leg (not b),
// already answered or about to be, counts its RTP timeout from now.
func (c *Call) newSession(b bool, remote netip.AddrPort, peer netip.Addr, codec sip.Format, dtmf uint8) (*media.Session, error) {
	onDTMF, onTimeout := c.mediaCallbacks(b)
	sess, err := c.e.openSession(c.cfg, c.log.With("leg", legName(b)), remote, peer, codec, dtmf, onDTMF, onTimeout)
	if err == nil && !b {
		sess.SetDirection(true, true)
	}
	return sess, err
}

// openSession opens an RTP session for one leg of a call (an unknown codec
// falls back to PCMU until the answer settles it). Its RTP timeout is
// suspended (receiving off) until settleAnswer or the caller's leg turns it
// on: a leg we dial counts it from the answer, because a phone that rings
// sends no RTP, and its silence must not end the caller's call before the
// ring timeout moves the call on. peer is the far side's address as far as
// it is known (its media address, or where its SIP comes from or goes to):
// its IP family picks the session's (mediaOverIPv6).
func (e *Engine) openSession(cfg *config.Config, log *slog.Logger, remote netip.AddrPort, peer netip.Addr, codec sip.Format, dtmf uint8, onDTMF func(rune), onTimeout func()) (*media.Session, error) {
	mc, ok := media.CodecByName(codec.Name)
	if !ok {
		mc = media.PCMU
	}
	sess, err := e.opts.Media.NewSession(media.SessionConfig{
		Params:    media.Params{Remote: remote, Codec: mc, DTMF: dtmf},
		Timeout:   cfg.RTP.Timeout,
		Logger:    log,
		OnDTMF:    onDTMF,
		OnTimeout: onTimeout,
		IPv6:      mediaOverIPv6(cfg, peer),
	})
	if err != nil {
		return nil, err
	}
	sess.SetDirection(true, false)
	return sess, nil
}

// mediaOverIPv6: a leg whose far media (or, before any SDP, signalling)
// address is IPv6 gets its RTP on rtp.address6, when the engine has one
// and rtp.address is IPv4.
func mediaOverIPv6(cfg *config.Config, remote netip.Addr) bool {
	return cfg.RTP.Address6.IsValid() && cfg.RTP.Address.Is4() && remote.Is6() && !remote.Is4In6()
}

func legName(b bool) string {
	if b {
		return "seat"
	}
	return "caller"
}

// answerCaller sends the 200 from a helper goroutine (it blocks until the
// ACK); the outcome comes back as evAnswered.
func (c *Call) answerCaller() {
	var sdp []byte
	if c.lateOffer {
		sdp = c.in.sdp.offer(c.in.m.LocalAddr(), lateOfferCodec.Name)
	} else {
		sdp = c.in.sdp.build(c.in.m.LocalAddr(), sip.AnswerDirection(c.aOfferDir))
	}
	if c.st != stBridged {
		c.setState(stAnswering)
	}
	c.spawn(func() { c.post(evAnswered{err: c.a.Answer(sdp)}) })
}

// onAnswered: the caller's 200 was acknowledged. A trunk caller is greeted;
// a seat-to-seat call is already bridged.
func (c *Call) onAnswered(err error) *reason {
	if err != nil {
		if errors.Is(err, sip.ErrLegClosed) || c.a.Context().Err() != nil {
			return reasonPtr(endAbandoned)
		}
		c.log.Warn("answering the caller failed", "error", err)
		return reasonPtr(endError)
	}
	if c.lateOffer {
		if r := c.lateAnswer(); r != nil {
			return r
		}
	}
	c.armSessionTimer()
	if c.toSeat != "" || c.st == stBridged || c.watching != nil {
		return nil
	}
	if c.feature {
		if c.ps.confirm == nil {
			return reasonPtr(endFeature)
		}
		c.play(c.ps.confirm, false)
		return nil
	}
	if c.fallback {
		c.rec.Skill, c.rec.Queue = c.line.Skill, c.line.Skill
		return c.enqueue()
	}
	return c.startIVR()
}

// featureCode: a seat dialled a feature code (*11 log in, *12 log out,
// *13[n] not ready, *14 ready). The agent's state changes; the phone is
// answered with a short confirmation and hung up, or refused with 403 when
// the change is not allowed.
func (c *Call) featureCode(ext string, cmd acd.Command) *reason {
	c.rec.LineMode = "feature"
	st, err := c.e.AgentCommand(ext, cmd)
	if err != nil {
		c.log.Warn("feature code refused", "seat", ext, "code", c.a.Dialled(), "error", err)
		return reasonPtr(endForbidden)
	}
	c.log.Info("agent state changed by feature code", "seat", ext, "code", c.a.Dialled(), "state", st.State, "reason", st.Reason)
	if r := c.setupCallerMedia(); r != nil {
		return r
	}
	c.feature = true
	c.answerCaller()
	return nil
}

func reasonPtr(r reason) *reason { return &r }
