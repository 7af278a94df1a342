package sip

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SRTP crypto suites hotline keys with SDES (RFC 4568 §6.2, RFC 6188),
// strongest first: the order of our offers.
const (
	SuiteAES256SHA80 = "AES_256_CM_HMAC_SHA1_80"
	SuiteAES256SHA32 = "AES_256_CM_HMAC_SHA1_32"
	SuiteAES128SHA80 = "AES_CM_128_HMAC_SHA1_80"
	SuiteAES128SHA32 = "AES_CM_128_HMAC_SHA1_32"
)

// suiteKeyLen is the master key plus master salt length of each suite.
var suiteKeyLen = map[string]int{
	SuiteAES128SHA80: 16 + 14,
	SuiteAES128SHA32: 16 + 14,
	SuiteAES256SHA80: 32 + 14,
	SuiteAES256SHA32: 32 + 14,
}

// OfferSuites are the suites of our offers, in preference order: the
// 128-bit ones first, which every SDES phone has.
var OfferSuites = []string{SuiteAES128SHA80, SuiteAES128SHA32, SuiteAES256SHA80}

// ErrBadCrypto: an a=crypto attribute we cannot use (malformed, unknown
// suite, several keys, an MKI or a session parameter we do not implement).
var ErrBadCrypto = errors.New("sip: unusable a=crypto")

// Crypto is one a=crypto attribute (RFC 4568 §9.1) of the kind hotline
// uses: one inline master key and salt, no MKI, no session parameters
// that change the transform.
type Crypto struct {
	Tag   int    // 1..999999999
	Suite string // one of the Suite constants
	Key   []byte // master key || master salt
}

// maxCryptoTag is RFC 4568's tag bound (1*9DIGIT).
const maxCryptoTag = 999999999

// ParseCrypto reads the value of an a=crypto attribute ("1
// AES_CM_128_HMAC_SHA1_80 inline:KEY[|lifetime]"). A lifetime is accepted
// and ignored (our calls end long before 2^31 packets); an MKI, a second
// key, or any session parameter but the window size hint (WSH) makes the
// line unusable (ErrBadCrypto), so that the answerer picks another one
// (RFC 4568 §7.1.1).
func ParseCrypto(v string) (Crypto, error) {
	fields := strings.Fields(v)
	if len(fields) < 3 {
		return Crypto{}, fmt.Errorf("%w: %q: want tag, suite and key", ErrBadCrypto, v)
	}
	tag, err := strconv.Atoi(fields[0])
	if err != nil || tag < 0 || tag > maxCryptoTag || len(fields[0]) > 9 {
		return Crypto{}, fmt.Errorf("%w: tag %q", ErrBadCrypto, fields[0])
	}
	n, ok := suiteKeyLen[fields[1]]
	if !ok {
		return Crypto{}, fmt.Errorf("%w: suite %q", ErrBadCrypto, fields[1])
	}
	for _, sp := range fields[3:] {
		if !strings.HasPrefix(sp, "WSH=") {
			return Crypto{}, fmt.Errorf("%w: session parameter %q", ErrBadCrypto, sp)
		}
	}
	key, err := inlineKey(fields[2], n)
	if err != nil {
		return Crypto{}, err
	}
	return Crypto{Tag: tag, Suite: fields[1], Key: key}, nil
}

// inlineKey decodes "inline:KEY[|lifetime]" of n bytes.
func inlineKey(kp string, n int) ([]byte, error) {
	if strings.Contains(kp, ";") {
		return nil, fmt.Errorf("%w: several keys (they need an MKI)", ErrBadCrypto)
	}
	info, ok := strings.CutPrefix(kp, "inline:")
	if !ok {
		return nil, fmt.Errorf("%w: key method of %q is not inline", ErrBadCrypto, kp)
	}
	parts := strings.Split(info, "|")
	if len(parts) > 2 {
		return nil, fmt.Errorf("%w: an MKI", ErrBadCrypto)
	}
	if len(parts) == 2 && strings.Contains(parts[1], ":") {
		return nil, fmt.Errorf("%w: an MKI", ErrBadCrypto)
	}
	if len(parts) == 2 && !validLifetime(parts[1]) {
		return nil, fmt.Errorf("%w: lifetime %q", ErrBadCrypto, parts[1])
	}
	// Some phones drop the base64 padding.
	key, err := base64.StdEncoding.DecodeString(parts[0])
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(parts[0])
	}
	if err != nil || len(key) != n {
		return nil, fmt.Errorf("%w: key is not %d bytes of base64", ErrBadCrypto, n)
	}
	return key, nil
}

// validLifetime: "2^N" or a decimal number (RFC 4568 §9.2).
func validLifetime(s string) bool {
	if e, ok := strings.CutPrefix(s, "2^"); ok {
		n, err := strconv.Atoi(e)
		return err == nil && n > 0 && n <= 64
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return err == nil && n > 0
}

// String formats c as an a=crypto value.
func (c Crypto) String() string {
	return strconv.Itoa(c.Tag) + " " + c.Suite + " inline:" + base64.StdEncoding.EncodeToString(c.Key)
}

// NewCrypto makes a fresh master key and salt for suite from crypto/rand,
// under tag.
func NewCrypto(tag int, suite string) (Crypto, error) {
	n, ok := suiteKeyLen[suite]
	if !ok {
		return Crypto{}, fmt.Errorf("%w: suite %q", ErrBadCrypto, suite)
	}
	key := make([]byte, n)
	if _, err := rand.Read(key); err != nil {
		return Crypto{}, fmt.Errorf("sip: srtp key: %w", err)
	}
	return Crypto{Tag: tag, Suite: suite, Key: key}, nil
}

// PickCrypto is the answerer's choice (RFC 4568 §7.1.1): the first usable
// offered line, in the offerer's order, whose suite is one of ours.
func PickCrypto(offered []Crypto) (Crypto, bool) {
	for _, c := range offered {
		if _, ok := suiteKeyLen[c.Suite]; ok {
			return c, true
		}
	}
	return Crypto{}, false
}

// OfferPrefer parses the INVITE's SDP offer, choosing its SRTP stream (srtp)
// or its plain one from an offer of both (ParseSDPPrefer).
func (l *InboundLeg) OfferPrefer(srtp bool) (MediaDesc, error) {
	return ParseSDPPrefer(l.req.Body(), srtp)
}
