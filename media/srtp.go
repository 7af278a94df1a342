package media

import (
	"errors"
	"fmt"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// SRTP (RFC 3711) on a session: the keys come from the signalling (SDES,
// RFC 4568, negotiated by the call layer); media only applies them. Each
// session has its own pair of contexts, one per direction: the decrypting
// one is used by the reader goroutine only, the encrypting one under
// outMu only, so that neither is ever shared between goroutines (pion's
// Context is not safe for concurrent use). Both work in place in the
// buffers the session already owns: no allocation per packet.

// ErrSRTPSuite: a crypto suite media has no transform for.
var ErrSRTPSuite = errors.New("media: unsupported SRTP suite")

// SRTPKey is one direction's master key and salt under a suite named as
// RFC 4568 §6.2 and RFC 6188 name them (AES_CM_128_HMAC_SHA1_80, ...).
type SRTPKey struct {
	Suite string
	Key   []byte // master key || master salt
}

// srtpSuites maps the suites to pion's profiles and key lengths.
var srtpSuites = map[string]struct {
	profile srtp.ProtectionProfile
	keyLen  int
}{
	"AES_CM_128_HMAC_SHA1_80": {srtp.ProtectionProfileAes128CmHmacSha1_80, 16},
	"AES_CM_128_HMAC_SHA1_32": {srtp.ProtectionProfileAes128CmHmacSha1_32, 16},
	"AES_256_CM_HMAC_SHA1_80": {srtp.ProtectionProfileAes256CmHmacSha1_80, 32},
	"AES_256_CM_HMAC_SHA1_32": {srtp.ProtectionProfileAes256CmHmacSha1_32, 32},
}

// srtpSaltLen is the master salt length of every suite above.
const srtpSaltLen = 14

// srtpReplayWindow is the replay list of the decrypting context: packets
// that old or older than one already accepted are dropped (RFC 3711
// §3.3.2 asks for at least 64).
const srtpReplayWindow = 128

// srtpTrailer bounds what SRTP appends to a packet (the longest auth tag;
// no MKI).
const srtpTrailer = 10

// srtpPair is a session's two SRTP contexts.
type srtpPair struct {
	in     *srtp.Context // decrypts what the peer sends; reader goroutine only
	out    *srtp.Context // encrypts what we send; under Session.outMu only
	inHdr  rtp.Header    // reader goroutine only: scratch for DecryptRTP
	outHdr rtp.Header    // under Session.outMu: scratch for EncryptRTP
}

func newContext(k SRTPKey, opts ...srtp.ContextOption) (*srtp.Context, error) {
	s, ok := srtpSuites[k.Suite]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrSRTPSuite, k.Suite)
	}
	if len(k.Key) != s.keyLen+srtpSaltLen {
		return nil, fmt.Errorf("%w: %s key of %d bytes", ErrSRTPSuite, k.Suite, len(k.Key))
	}
	return srtp.CreateContext(k.Key[:s.keyLen], k.Key[s.keyLen:], s.profile, opts...)
}

// SetSRTP turns SRTP on for the session: local keys what we send, remote
// what the peer sends (each side's own a=crypto, RFC 4568 §6.1). Called by
// the leg's owner when an offer/answer settles keys (again for a
// re-INVITE that changes them); packets in flight while it switches are
// dropped as unauthenticated. Safe from any goroutine.
func (s *Session) SetSRTP(local, remote SRTPKey) error {
	out, err := newContext(local)
	if err != nil {
		return err
	}
	in, err := newContext(remote, srtp.SRTPReplayProtection(srtpReplayWindow))
	if err != nil {
		return err
	}
	s.srtp.Store(&srtpPair{in: in, out: out})
	s.kernelRecheck() // an SRTP leg is relayed in user space only
	return nil
}

// Secure reports whether the session speaks SRTP.
func (s *Session) Secure() bool { return s.srtp.Load() != nil }

// unprotect authenticates and decrypts an SRTP packet in place (data is
// the reader's buffer) and returns the plain RTP packet; ok is false (the
// packet counted as dropped) when its auth tag is wrong, it is a replay,
// or it is too short. A plain session returns data as it is.
func (s *Session) unprotect(data []byte) ([]byte, bool) {
	p := s.srtp.Load()
	if p == nil {
		return data, true
	}
	plain, err := p.in.DecryptRTP(data, data, &p.inHdr)
	switch {
	case err == nil:
		return plain, true
	case errors.Is(err, srtp.ErrFailedToVerifyAuthTag):
		s.drop(DropSRTPAuth)
	case errors.Is(err, errSRTPReplay):
		s.drop(DropSRTPReplay)
	default:
		s.drop(DropMalformed)
	}
	return nil, false
}

// protect encrypts the packet in pkt (the session's write buffer, with
// room for the trailer behind it) in place. A plain session returns pkt
// as it is. Called with outMu held.
func (s *Session) protect(pkt []byte) ([]byte, bool) {
	p := s.srtp.Load()
	if p == nil {
		return pkt, true
	}
	if cap(pkt) < len(pkt)+srtpTrailer {
		return nil, false
	}
	out, err := p.out.EncryptRTP(pkt, pkt, &p.outHdr)
	return out, err == nil
}

// errSRTPReplay is what pion wraps a replayed packet's error around: it
// exports no sentinel for it, so one is caught once, at init, by
// decrypting a packet twice.
var errSRTPReplay = func() error {
	k := SRTPKey{Suite: "AES_CM_128_HMAC_SHA1_80", Key: make([]byte, 30)}
	enc, err1 := newContext(k)
	dec, err2 := newContext(k, srtp.SRTPReplayProtection(srtpReplayWindow))
	if err1 != nil || err2 != nil {
		panic("media: srtp self-test: " + errors.Join(err1, err2).Error())
	}
	pkt, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 1, SequenceNumber: 1}, Payload: []byte{1}}).Marshal()
	sealed, err := enc.EncryptRTP(nil, pkt, nil)
	if err == nil {
		_, err = dec.DecryptRTP(nil, sealed, nil)
	}
	if err == nil {
		_, err = dec.DecryptRTP(nil, sealed, nil)
	}
	if err == nil {
		panic("media: srtp self-test: a replay was accepted")
	}
	if inner := errors.Unwrap(err); inner != nil {
		return inner
	}
	return err
}()
