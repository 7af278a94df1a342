package sip

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// testKey is 30 bytes of key and salt for the AES_CM_128 suites.
var (
	testKey    = bytes.Repeat([]byte{0x5a}, 30)
	testKeyB64 = base64.StdEncoding.EncodeToString(testKey)
)

func TestParseCrypto(t *testing.T) {
	key256 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 46))
	for _, tc := range []struct {
		name, in string
		want     Crypto
		bad      bool
	}{
		{name: "80", in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + testKeyB64, want: Crypto{1, SuiteAES128SHA80, testKey}},
		{name: "32 with lifetime", in: "2 AES_CM_128_HMAC_SHA1_32 inline:" + testKeyB64 + "|2^20", want: Crypto{2, SuiteAES128SHA32, testKey}},
		{name: "decimal lifetime", in: "3 AES_CM_128_HMAC_SHA1_80 inline:" + testKeyB64 + "|1048576", want: Crypto{3, SuiteAES128SHA80, testKey}},
		{name: "256", in: "4 AES_256_CM_HMAC_SHA1_80 inline:" + key256, want: Crypto{4, SuiteAES256SHA80, bytes.Repeat([]byte{1}, 46)}},
		{name: "unpadded base64", in: "5 AES_CM_128_HMAC_SHA1_80 inline:" + strings.TrimRight(testKeyB64, "="), want: Crypto{5, SuiteAES128SHA80, testKey}},
		{name: "window size hint", in: "6 AES_CM_128_HMAC_SHA1_80 inline:" + testKeyB64 + " WSH=64", want: Crypto{6, SuiteAES128SHA80, testKey}},
		{name: "MKI", in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + testKeyB64 + "|2^20|1:4", bad: true},
		{name: "MKI without lifetime", in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + testKeyB64 + "|1:4", bad: true},
		{name: "two keys", in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + testKeyB64 + ";inline:" + testKeyB64, bad: true},
		{name: "unknown suite", in: "1 F8_128_HMAC_SHA1_80 inline:" + testKeyB64, bad: true},
		{name: "short key", in: "1 AES_CM_128_HMAC_SHA1_80 inline:abcd", bad: true},
		{name: "256 suite, 128 key", in: "1 AES_256_CM_HMAC_SHA1_80 inline:" + testKeyB64, bad: true},
		{name: "not inline", in: "1 AES_CM_128_HMAC_SHA1_80 uri:http://x", bad: true},
		{name: "unencrypted", in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + testKeyB64 + " UNENCRYPTED_SRTP", bad: true},
		{name: "bad lifetime", in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + testKeyB64 + "|2^x", bad: true},
		{name: "tag too long", in: "1234567890 AES_CM_128_HMAC_SHA1_80 inline:" + testKeyB64, bad: true},
		{name: "negative tag", in: "-1 AES_CM_128_HMAC_SHA1_80 inline:" + testKeyB64, bad: true},
		{name: "missing key", in: "1 AES_CM_128_HMAC_SHA1_80", bad: true},
		{name: "empty", in: "", bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCrypto(tc.in)
			if tc.bad {
				if !errors.Is(err, ErrBadCrypto) {
					t.Fatalf("err %v, want ErrBadCrypto", err)
				}
				return
			}
			if err != nil || got.Tag != tc.want.Tag || got.Suite != tc.want.Suite || !bytes.Equal(got.Key, tc.want.Key) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestCryptoRoundTrip(t *testing.T) {
	for _, suite := range []string{SuiteAES128SHA80, SuiteAES128SHA32, SuiteAES256SHA80, SuiteAES256SHA32} {
		c, err := NewCrypto(3, suite)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseCrypto(c.String())
		if err != nil || back.Tag != 3 || back.Suite != suite || !bytes.Equal(back.Key, c.Key) {
			t.Fatalf("%s: %+v, %v", suite, back, err)
		}
		if other, _ := NewCrypto(3, suite); bytes.Equal(other.Key, c.Key) {
			t.Fatalf("%s: two keys alike", suite)
		}
	}
	if _, err := NewCrypto(1, "NULL_HMAC_SHA1_80"); !errors.Is(err, ErrBadCrypto) {
		t.Fatalf("unknown suite: %v", err)
	}
}

func TestBuildSDPSecure(t *testing.T) {
	c := Crypto{Tag: 1, Suite: SuiteAES128SHA80, Key: testKey}
	body := BuildSDP(SDPParams{Addr: ap("127.0.0.1:4000"), Formats: []Format{fmtPCMU}, Secure: true, Crypto: []Crypto{c}})
	md, err := ParseSDP(body)
	if err != nil || !md.Secure || len(md.Crypto) != 1 || !bytes.Equal(md.Crypto[0].Key, testKey) {
		t.Fatalf("%s\n%+v %v", body, md, err)
	}
	if !bytes.Contains(body, []byte("m=audio 4000 RTP/SAVP 0")) {
		t.Fatalf("no RTP/SAVP line:\n%s", body)
	}
}

func FuzzParseCrypto(f *testing.F) {
	for _, s := range []string{
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + testKeyB64,
		"2 AES_CM_128_HMAC_SHA1_32 inline:" + testKeyB64 + "|2^20|1:4",
		"3 AES_256_CM_HMAC_SHA1_80 inline:" + testKeyB64 + " WSH=64 KDR=1",
		"1 AES_CM_128_HMAC_SHA1_80 inline:a;inline:b",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCrypto(s)
		if err != nil {
			if !errors.Is(err, ErrBadCrypto) {
				t.Fatalf("error outside ErrBadCrypto: %v", err)
			}
			return
		}
		if suiteKeyLen[c.Suite] != len(c.Key) {
			t.Fatalf("key of %d bytes for %s", len(c.Key), c.Suite)
		}
		back, err := ParseCrypto(c.String())
		if err != nil || back.Tag != c.Tag || back.Suite != c.Suite || !bytes.Equal(back.Key, c.Key) {
			t.Fatalf("round trip of %q: %+v %v", c.String(), back, err)
		}
	})
}

// TestParseSDPPrefer: an offer of SRTP with a plain fallback (the same
// audio twice) is read as SRTP when we want it, as plain otherwise.
func TestParseSDPPrefer(t *testing.T) {
	body := sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
		"m=audio 5000 RTP/SAVP 0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"+testKeyB64,
		"m=audio 5002 RTP/AVP 0")
	for _, tc := range []struct {
		srtp   bool
		index  int
		secure bool
	}{{true, 0, true}, {false, 1, false}} {
		md, err := ParseSDPPrefer([]byte(body), tc.srtp)
		if err != nil || md.Index != tc.index || md.Secure != tc.secure {
			t.Fatalf("srtp %v: index %d secure %v, %v", tc.srtp, md.Index, md.Secure, err)
		}
	}
}
