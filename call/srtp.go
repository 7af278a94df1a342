package call

import (
	"bytes"
	"errors"
	"log/slog"
	"net/netip"
	"strings"

	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/media"
	"github.com/hotline-cc/hotline/sip"
)

// SRTP keyed by SDES (RFC 4568): each leg negotiates its own keys with its
// own peer, by the policy of the seat or trunk it reaches (config
// SRTPOff, SRTPOffer, SRTPRequire), and its media session encrypts and
// decrypts with them; a relay between an SRTP leg and a plain one
// decrypts on one side and encrypts on the other.

// endSRTP: the offer or answer and the leg's SRTP policy disagree (SRTP
// offered to an off leg, plain RTP to a require leg, no usable a=crypto).
var endSRTP = reason{"srtp_mismatch", 488, slog.LevelInfo}

// errSRTPMismatch is endSRTP's error for a leg we dialled.
var errSRTPMismatch = errors.New("call: SRTP offer/answer does not fit the leg's policy")

// legSRTP is a leg's side of SDES: its policy, the profile in use, our key
// (in an answer: the one; in an offer: one per suite) and the peer's.
type legSRTP struct {
	policy  string       // config.SRTPOff ("" too), SRTPOffer, SRTPRequire
	secure  bool         // the stream is RTP/SAVP
	local   *sip.Crypto  // our key in force; nil: plain RTP
	offered []sip.Crypto // our keys of our last offer, one per suite
	remote  []byte       // the peer's key in force
}

func (s *legSRTP) on() bool { return s.policy == config.SRTPOffer || s.policy == config.SRTPRequire }

// offerCrypto is the SRTP part of an offer we send: nothing when off; one
// a=crypto per suite (fresh keys from crypto/rand, kept for the leg's next
// offers), on RTP/SAVP when SRTP is required, else on RTP/AVP (RFC 4568's
// best effort: a plain answer is taken too).
func (s *legSRTP) offerCrypto() (secure bool, lines []sip.Crypto) {
	if !s.on() {
		return false, nil
	}
	if s.offered == nil {
		for i, suite := range sip.OfferSuites {
			c, err := sip.NewCrypto(i+1, suite)
			if err != nil {
				return false, nil
			}
			s.offered = append(s.offered, c)
		}
	}
	return s.policy == config.SRTPRequire, s.offered
}

// answerCrypto is the SRTP part of an answer: our key in force.
func (s *legSRTP) answerCrypto() (secure bool, lines []sip.Crypto) {
	if s.local == nil {
		return false, nil
	}
	return s.secure, []sip.Crypto{*s.local}
}

// acceptOffer settles SRTP for an offer the leg answers (an INVITE,
// re-INVITE or UPDATE; RFC 4568 §7.1.2): SRTP when offered (RTP/SAVP, or
// a=crypto on RTP/AVP) and the policy allows it, with our fresh key for
// the suite and tag picked; plain RTP when neither side asks for SRTP.
// errSRTPMismatch otherwise. The session is keyed (again only if a key
// changed: a re-key restarts the rollover counter).
func (s *legSRTP) acceptOffer(offer sip.MediaDesc, m *media.Session) error {
	remote, ok := sip.PickCrypto(offer.Crypto)
	switch {
	case !s.on() && offer.Secure:
		return errSRTPMismatch
	case !s.on() || (!offer.Secure && !ok && s.policy == config.SRTPOffer):
		s.local, s.secure, s.remote = nil, false, nil
		return nil
	case !ok:
		return errSRTPMismatch
	}
	local := s.local
	if local == nil || local.Suite != remote.Suite || local.Tag != remote.Tag {
		c, err := sip.NewCrypto(remote.Tag, remote.Suite)
		if err != nil {
			return err
		}
		local = &c
	}
	return s.key(m, local, remote, offer.Secure)
}

// acceptAnswer settles SRTP from the answer to our offer (RFC 4568
// §7.1.3): the answer's a=crypto names the tag of ours it took.
func (s *legSRTP) acceptAnswer(ans sip.MediaDesc, m *media.Session) error {
	if !s.on() {
		if ans.Secure {
			return errSRTPMismatch
		}
		return nil
	}
	if len(ans.Crypto) == 0 {
		if ans.Secure || s.policy == config.SRTPRequire {
			return errSRTPMismatch
		}
		s.local, s.secure, s.remote = nil, false, nil
		return nil
	}
	remote := ans.Crypto[0]
	for i := range s.offered {
		if ours := s.offered[i]; ours.Tag == remote.Tag && ours.Suite == remote.Suite {
			return s.key(m, &ours, remote, ans.Secure)
		}
	}
	return errSRTPMismatch
}

// key turns SRTP on in m with local and remote, unless they are in force.
func (s *legSRTP) key(m *media.Session, local *sip.Crypto, remote sip.Crypto, secure bool) error {
	if s.local == nil || !bytes.Equal(s.local.Key, local.Key) || !bytes.Equal(s.remote, remote.Key) || !m.Secure() {
		err := m.SetSRTP(media.SRTPKey{Suite: local.Suite, Key: local.Key},
			media.SRTPKey{Suite: remote.Suite, Key: remote.Key})
		if err != nil {
			return errors.Join(errSRTPMismatch, err)
		}
	}
	s.local, s.remote, s.secure = local, remote.Key, secure
	return nil
}

// srtpPolicy is the SRTP policy of a leg we dial: a seat's own (or
// sip.seat_srtp), else that of the trunk whose outbound address target is
// at; off for anything else.
func srtpPolicy(cfg *config.Config, kind legKind, ext, target string) string {
	if kind == legSeat && ext != "" {
		return cfg.SeatSRTP(ext)
	}
	host := hostPort(target)
	for _, t := range cfg.Trunks {
		if t.Outbound != "" && host != "" && hostPort(t.Outbound) == host {
			return cfg.TrunkSRTP(t.Name)
		}
	}
	return config.SRTPOff
}

// hostPort is the host[:port] of a SIP URI, without user and parameters.
func hostPort(uri string) string {
	_, rest, ok := strings.Cut(uri, ":")
	if !ok {
		return ""
	}
	if _, h, found := strings.Cut(rest, "@"); found {
		rest = h
	}
	rest, _, _ = strings.Cut(rest, ";")
	if ap, err := netip.ParseAddrPort(rest); err == nil {
		return ap.String()
	}
	return rest
}

// callerSRTP is the SRTP policy of a call's caller: its trunk's, or its
// seat's when a seat called.
func (c *Call) callerSRTP() string {
	if o := c.a.Origin(); o.Seat != "" {
		return c.cfg.SeatSRTP(o.Seat)
	}
	return c.cfg.TrunkSRTP(c.a.Origin().Trunk)
}

// callerOffer reads the caller's offer, choosing the SRTP stream of an
// offer of both when the caller's policy takes SRTP.
func (c *Call) callerOffer(srtp bool) (sip.MediaDesc, error) {
	if p, ok := c.a.(interface {
		OfferPrefer(srtp bool) (sip.MediaDesc, error)
	}); ok {
		return p.OfferPrefer(srtp)
	}
	return c.a.Offer()
}

// logKeyed notes that the leg speaks SRTP, with the suite and whether the
// stream is RTP/SAVP (else RTP/AVP with a=crypto).
func (s *legSRTP) logKeyed(log *slog.Logger, leg string) {
	if s.local != nil {
		log.Info("leg speaks SRTP", "leg", leg, "suite", s.local.Suite, "savp", s.secure)
	}
}
