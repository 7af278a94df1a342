package sip

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// Errors from reading an SDP offer or answer.
var (
	ErrBadSDP        = errors.New("sip: malformed SDP")
	ErrNoAudio       = errors.New("sip: SDP has no usable audio stream")
	ErrNoCommonCodec = errors.New("sip: no common audio codec")
)

// Media directions (RFC 3264).
const (
	DirSendRecv = "sendrecv"
	DirSendOnly = "sendonly"
	DirRecvOnly = "recvonly"
	DirInactive = "inactive"
)

// Codec names as they appear in a=rtpmap.
const (
	CodecPCMU           = "PCMU"
	CodecPCMA           = "PCMA"
	CodecTelephoneEvent = "telephone-event"
)

// Format is one RTP payload format of an audio stream.
type Format struct {
	PT   uint8
	Name string // "PCMU", "PCMA", "telephone-event", ...
	Rate uint32
}

// MediaDesc is what we use of one audio stream of a session description.
type MediaDesc struct {
	Addr      netip.AddrPort // connection address (c= at media or session level) + m= port
	Formats   []Format       // audio formats in offer order (static 0/8 implied without rtpmap)
	DTMF      uint8          // telephone-event PT (8000 Hz), 0 if none
	Direction string         // sendrecv|sendonly|recvonly|inactive (media level overrides session level; default sendrecv)
	Ptime     int            // a=ptime asked for, 0 if none; we send 20 ms frames whatever it says
	// Lines are all the m= lines of the description in order, and Index
	// the one this stream is: an answer keeps one m= line per offered one
	// (RFC 3264 §6), rejecting all but the audio stream we use.
	Lines []MediaLine
	Index int
	// Secure: the stream's profile is RTP/SAVP (or SAVPF): SRTP only.
	// Crypto are its usable a=crypto lines (RFC 4568) in offer order;
	// a plain RTP/AVP stream may carry them too (best-effort SRTP).
	Secure bool
	Crypto []Crypto
}

// MediaLine is an m= line as an answer that rejects it repeats it: media,
// transport and format list (the port becomes 0).
type MediaLine struct {
	Media   string
	Protos  []string
	Formats []string
}

// Hold reports whether the description puts the stream on hold: the
// RFC 2543 form (c=0.0.0.0) or a direction in which the peer will not
// receive our audio (sendonly, inactive).
func (m MediaDesc) Hold() bool {
	return m.Addr.Addr().IsUnspecified() || m.Direction == DirSendOnly || m.Direction == DirInactive
}

// staticFormats are the RFC 3551 audio payload types that may appear without
// an rtpmap.
var staticFormats = map[uint8]Format{
	0:  {PT: 0, Name: CodecPCMU, Rate: 8000},
	3:  {PT: 3, Name: "GSM", Rate: 8000},
	4:  {PT: 4, Name: "G723", Rate: 8000},
	8:  {PT: 8, Name: CodecPCMA, Rate: 8000},
	9:  {PT: 9, Name: "G722", Rate: 8000},
	13: {PT: 13, Name: "CN", Rate: 8000},
	18: {PT: 18, Name: "G729", Rate: 8000},
}

// ParseSDP reads the first plain audio stream with a non-zero port (RTP/AVP
// or RTP/AVPF) from an SDP body, else the first SRTP one (RTP/SAVP,
// RTP/SAVPF): ParseSDPPrefer(body, false).
func ParseSDP(body []byte) (MediaDesc, error) { return ParseSDPPrefer(body, false) }

// ParseSDPPrefer reads one audio stream with a non-zero port from an SDP
// body: with srtp, the first SRTP one that carries a usable a=crypto, else
// the first one at all; without, the first plain one, else the first one.
// (An offer of SRTP with a plain fallback lists the same audio twice.)
// c=0.0.0.0 or a=inactive mean hold (see MediaDesc.Hold). An empty body
// (an INVITE without an offer) is ErrBadSDP.
func ParseSDPPrefer(body []byte, srtp bool) (MediaDesc, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return MediaDesc{}, fmt.Errorf("%w: empty body", ErrBadSDP)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(string(body)); err != nil {
		return MediaDesc{}, fmt.Errorf("%w: %w", ErrBadSDP, err)
	}
	pick := -1
	for i, m := range sd.MediaDescriptions {
		if m.MediaName.Media != "audio" || m.MediaName.Port.Value == 0 || !isRTPProfile(m.MediaName.Protos) {
			continue
		}
		if pick < 0 {
			pick = i
		}
		secure := isSecureProfile(m.MediaName.Protos)
		if (srtp && secure && len(cryptosOf(m.Attributes)) > 0) || (!srtp && !secure) {
			pick = i
			break
		}
	}
	if pick < 0 {
		return MediaDesc{}, ErrNoAudio
	}
	md, err := audioDesc(&sd, sd.MediaDescriptions[pick])
	if err != nil {
		return MediaDesc{}, err
	}
	md.Index = pick
	for _, o := range sd.MediaDescriptions {
		md.Lines = append(md.Lines, MediaLine{Media: o.MediaName.Media, Protos: o.MediaName.Protos, Formats: o.MediaName.Formats})
	}
	return md, nil
}

func isRTPProfile(protos []string) bool {
	switch strings.Join(protos, "/") {
	case "RTP/AVP", "RTP/AVPF", "RTP/SAVP", "RTP/SAVPF":
		return true
	}
	return false
}

// isSecureProfile: the profile is SRTP's (RFC 3711 §12).
func isSecureProfile(protos []string) bool {
	p := strings.Join(protos, "/")
	return p == "RTP/SAVP" || p == "RTP/SAVPF"
}

// cryptosOf reads the usable a=crypto lines of a media section; unusable
// ones (ErrBadCrypto) are skipped, as RFC 4568 §7.1.1 has the answerer do.
func cryptosOf(attrs []sdp.Attribute) []Crypto {
	var out []Crypto
	for _, a := range attrs {
		if a.Key != "crypto" {
			continue
		}
		if c, err := ParseCrypto(a.Value); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// audioDesc builds the MediaDesc of one audio m= section.
func audioDesc(sd *sdp.SessionDescription, m *sdp.MediaDescription) (MediaDesc, error) {
	addr, err := connectionAddr(sd, m)
	if err != nil {
		return MediaDesc{}, err
	}
	port := m.MediaName.Port.Value
	if port < 0 || port > 65535 {
		return MediaDesc{}, fmt.Errorf("%w: port %d", ErrBadSDP, port)
	}
	md := MediaDesc{
		Addr:      netip.AddrPortFrom(addr, uint16(port)),
		Direction: direction(sd.Attributes, m.Attributes),
		Ptime:     ptime(sd.Attributes, m.Attributes),
		Secure:    isSecureProfile(m.MediaName.Protos),
		Crypto:    cryptosOf(m.Attributes),
	}
	rtpmaps := rtpmapsOf(m.Attributes)
	var seen [128]bool
	for _, f := range m.MediaName.Formats {
		pt, err := strconv.ParseUint(f, 10, 8)
		if err != nil || pt > 127 {
			return MediaDesc{}, fmt.Errorf("%w: payload type %q", ErrBadSDP, f)
		}
		if seen[pt] {
			continue
		}
		seen[pt] = true
		format, ok := rtpmaps[uint8(pt)]
		if !ok {
			format, ok = staticFormats[uint8(pt)]
		}
		if !ok {
			continue
		}
		if md.DTMF == 0 && format.Name == CodecTelephoneEvent && format.Rate == 8000 {
			md.DTMF = format.PT
		}
		md.Formats = append(md.Formats, format)
	}
	return md, nil
}

// connectionAddr is the media-level c= address, else the session-level one.
func connectionAddr(sd *sdp.SessionDescription, m *sdp.MediaDescription) (netip.Addr, error) {
	ci := m.ConnectionInformation
	if ci == nil {
		ci = sd.ConnectionInformation
	}
	if ci == nil || ci.Address == nil {
		return netip.Addr{}, fmt.Errorf("%w: no connection address", ErrBadSDP)
	}
	if ci.NetworkType != "IN" || (ci.AddressType != "IP4" && ci.AddressType != "IP6") {
		return netip.Addr{}, fmt.Errorf("%w: connection %s %s", ErrBadSDP, ci.NetworkType, ci.AddressType)
	}
	host, _, _ := strings.Cut(ci.Address.Address, "/") // multicast TTL/count
	addr, err := netip.ParseAddr(host)
	if err != nil || addr.Zone() != "" || addr.Is4() != (ci.AddressType == "IP4") {
		return netip.Addr{}, fmt.Errorf("%w: connection address %q", ErrBadSDP, ci.Address.Address)
	}
	return addr, nil
}

// rtpmapsOf reads a=rtpmap lines (the first one for a PT wins); names of the codecs we know are
// canonicalised (PCMU, PCMA, telephone-event).
func rtpmapsOf(attrs []sdp.Attribute) map[uint8]Format {
	out := make(map[uint8]Format, 4)
	for _, a := range attrs {
		if a.Key != "rtpmap" {
			continue
		}
		ptText, enc, ok := strings.Cut(strings.TrimSpace(a.Value), " ")
		pt, err := strconv.ParseUint(ptText, 10, 8)
		if !ok || err != nil || pt > 127 {
			continue
		}
		name, rest, _ := strings.Cut(strings.TrimSpace(enc), "/")
		rateText, _, _ := strings.Cut(rest, "/")
		rate, err := strconv.ParseUint(rateText, 10, 32)
		if _, dup := out[uint8(pt)]; dup || err != nil || rate == 0 || !isToken(name) {
			continue
		}
		out[uint8(pt)] = Format{PT: uint8(pt), Name: canonicalCodec(name), Rate: uint32(rate)}
	}
	return out
}

// isToken: s is a non-empty RFC 4566 token (an encoding name), nothing a
// rebuilt SDP line could be broken by.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`{|}~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func canonicalCodec(name string) string {
	for _, known := range []string{CodecPCMU, CodecPCMA, CodecTelephoneEvent} {
		if strings.EqualFold(name, known) {
			return known
		}
	}
	return name
}

// direction is the media-level direction attribute, else the session-level
// one, else sendrecv.
func direction(session, media []sdp.Attribute) string {
	for _, attrs := range [][]sdp.Attribute{media, session} {
		for _, a := range attrs {
			switch a.Key {
			case DirSendRecv, DirSendOnly, DirRecvOnly, DirInactive:
				return a.Key
			}
		}
	}
	return DirSendRecv
}

// ptime is the media-level a=ptime, else the session-level one, else 0.
func ptime(session, media []sdp.Attribute) int {
	for _, attrs := range [][]sdp.Attribute{media, session} {
		for _, a := range attrs {
			if a.Key != "ptime" {
				continue
			}
			whole, _, _ := strings.Cut(strings.TrimSpace(a.Value), ".")
			if n, err := strconv.Atoi(whole); err == nil && n > 0 && n <= 1000 {
				return n
			}
		}
	}
	return 0
}

// Negotiate picks the first format of the offer (the offerer's preference
// order) whose name is in supported, at 8000 Hz, skipping telephone-event and
// comfort noise. dtmf is the offer's telephone-event PT, 0 if none.
func Negotiate(offer MediaDesc, supported []string) (codec Format, dtmf uint8, err error) {
	for _, f := range offer.Formats {
		if f.Rate != 8000 || f.Name == CodecTelephoneEvent || strings.EqualFold(f.Name, "CN") {
			continue
		}
		for _, name := range supported {
			if strings.EqualFold(f.Name, name) {
				return f, offer.DTMF, nil
			}
		}
	}
	return Format{}, 0, ErrNoCommonCodec
}

// SDPParams describes the SDP we send (offer or answer).
type SDPParams struct {
	SessionID, Version uint64
	Addr               netip.AddrPort
	Formats            []Format
	DTMF               uint8 // telephone-event PT to add (if not already in Formats), 0 for none
	Direction          string
	Username           string // o= username; "-" when empty
	// Lines and Index are the m= lines of the offer answered (MediaDesc):
	// the audio stream takes Index's place, every other line is rejected
	// with port 0 and its offered formats (RFC 3264 §6). Nil: one m= line.
	Lines []MediaLine
	Index int
	// Secure makes the audio stream RTP/SAVP; Crypto are the a=crypto
	// lines it carries (our key: one line in an answer, one per suite in an
	// offer), on an RTP/AVP stream too (best-effort SRTP).
	Secure bool
	Crypto []Crypto
}

// BuildSDP marshals p as a session description with one audio stream:
// v=, o=, s=, c=, t=0 0, m=audio, an a=rtpmap per format (telephone-event
// with a=fmtp:PT 0-16), a=ptime:20 and the direction (sendrecv when empty);
// with p.Lines, the other offered m= lines around it, rejected.
func BuildSDP(p SDPParams) []byte {
	addrType := "IP4"
	if p.Addr.Addr().Is6() && !p.Addr.Addr().Is4In6() {
		addrType = "IP6"
	}
	host := p.Addr.Addr().Unmap().WithZone("").String()
	user := p.Username
	if user == "" || strings.ContainsAny(user, " \r\n") {
		user = "-"
	}
	sd := sdp.SessionDescription{
		Origin: sdp.Origin{
			Username: user, SessionID: p.SessionID, SessionVersion: p.Version,
			NetworkType: "IN", AddressType: addrType, UnicastAddress: host,
		},
		SessionName: "hotline",
		ConnectionInformation: &sdp.ConnectionInformation{
			NetworkType: "IN", AddressType: addrType, Address: &sdp.Address{Address: host},
		},
		TimeDescriptions:  []sdp.TimeDescription{{}},
		MediaDescriptions: mediaSections(p),
	}
	body, err := sd.Marshal()
	if err != nil { // pion's Marshal has no failing path; keep the contract explicit
		return nil
	}
	return body
}

// mediaSections are the m= sections of BuildSDP: the audio one at p.Index
// of p.Lines, the others rejected (port 0, no attributes).
func mediaSections(p SDPParams) []*sdp.MediaDescription {
	if p.Index < 0 || p.Index >= len(p.Lines) {
		return []*sdp.MediaDescription{audioSection(p)}
	}
	out := make([]*sdp.MediaDescription, len(p.Lines))
	for i, l := range p.Lines {
		if i == p.Index {
			out[i] = audioSection(p)
			continue
		}
		out[i] = &sdp.MediaDescription{MediaName: sdp.MediaName{Media: l.Media, Port: sdp.RangedPort{Value: 0}, Protos: l.Protos, Formats: l.Formats}}
	}
	return out
}

// audioSection builds the m=audio section of BuildSDP.
func audioSection(p SDPParams) *sdp.MediaDescription {
	formats := withDTMF(p.Formats, p.DTMF)
	proto := "AVP"
	if p.Secure {
		proto = "SAVP"
	}
	m := &sdp.MediaDescription{MediaName: sdp.MediaName{
		Media: "audio", Port: sdp.RangedPort{Value: int(p.Addr.Port())}, Protos: []string{"RTP", proto},
	}}
	for _, f := range formats {
		pt := strconv.Itoa(int(f.PT))
		m.MediaName.Formats = append(m.MediaName.Formats, pt)
		m.Attributes = append(m.Attributes, sdp.NewAttribute("rtpmap", pt+" "+f.Name+"/"+strconv.FormatUint(uint64(f.Rate), 10)))
		if f.Name == CodecTelephoneEvent {
			m.Attributes = append(m.Attributes, sdp.NewAttribute("fmtp", pt+" 0-16"))
		}
	}
	m.Attributes = append(m.Attributes, sdp.NewAttribute("ptime", "20"))
	for _, c := range p.Crypto {
		m.Attributes = append(m.Attributes, sdp.NewAttribute("crypto", c.String()))
	}
	dir := p.Direction
	switch dir {
	case DirSendRecv, DirSendOnly, DirRecvOnly, DirInactive:
	default:
		dir = DirSendRecv
	}
	m.Attributes = append(m.Attributes, sdp.NewPropertyAttribute(dir))
	return m
}

// withDTMF returns formats plus telephone-event/8000 at dtmf unless that PT
// is already listed or dtmf is 0.
func withDTMF(formats []Format, dtmf uint8) []Format {
	if dtmf == 0 {
		return formats
	}
	for _, f := range formats {
		if f.PT == dtmf {
			return formats
		}
	}
	out := make([]Format, 0, len(formats)+1)
	out = append(out, formats...)
	return append(out, Format{PT: dtmf, Name: CodecTelephoneEvent, Rate: 8000})
}

// AnswerDirection is the direction to answer an offered one with:
// sendonly→recvonly, recvonly→sendonly, inactive→inactive, else sendrecv.
func AnswerDirection(offered string) string {
	switch offered {
	case DirSendOnly:
		return DirRecvOnly
	case DirRecvOnly:
		return DirSendOnly
	case DirInactive:
		return DirInactive
	}
	return DirSendRecv
}

// DefaultFormats is what we offer: PCMU/0, PCMA/8 and telephone-event at dtmfPT.
func DefaultFormats(dtmfPT uint8) []Format {
	return []Format{
		{PT: 0, Name: CodecPCMU, Rate: 8000},
		{PT: 8, Name: CodecPCMA, Rate: 8000},
		{PT: dtmfPT, Name: CodecTelephoneEvent, Rate: 8000},
	}
}
