package sip

import (
	"errors"
	"maps"
	"testing"
)

func TestParseDigestCredentials(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want map[string]string
		err  error
	}{
		{
			name: "typical",
			in:   `Digest username="1001", realm="hotline", nonce="abc", uri="sip:127.0.0.1", response="0f", algorithm=MD5, cnonce="xy", qop=auth, nc=00000001`,
			want: map[string]string{"username": "1001", "realm": "hotline", "nonce": "abc", "uri": "sip:127.0.0.1",
				"response": "0f", "algorithm": "MD5", "cnonce": "xy", "qop": "auth", "nc": "00000001"},
		},
		{
			name: "no spaces, mixed-case keys and scheme",
			in:   `digest Username="a",REALM="r",qop=auth`,
			want: map[string]string{"username": "a", "realm": "r", "qop": "auth"},
		},
		{
			name: "escapes and commas in quotes",
			in:   `Digest username="a\"b", realm="x,y", uri="sip:a;b=c"`,
			want: map[string]string{"username": `a"b`, "realm": "x,y", "uri": "sip:a;b=c"},
		},
		{name: "basic scheme", in: `Basic dXNlcjpwdw==`, err: ErrBadCredentials},
		{name: "unterminated", in: `Digest username="abc`, err: ErrBadCredentials},
		{name: "no equals", in: `Digest username`, err: ErrBadCredentials},
		{name: "junk after quote", in: `Digest username="a"b, realm="r"`, err: ErrBadCredentials},
		{name: "dangling escape", in: `Digest username="a\`, err: ErrBadCredentials},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseDigestCredentials(tc.in)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if tc.err == nil && !maps.Equal(got, tc.want) {
				t.Fatalf("got %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestCheckCredentialFields(t *testing.T) {
	base := func() map[string]string {
		return map[string]string{"username": "1", "realm": "r", "nonce": "n", "uri": "sip:x", "response": "r"}
	}
	cases := []struct {
		name string
		set  map[string]string
		err  error
	}{
		{"no qop", nil, nil},
		{"qop auth", map[string]string{"qop": "auth", "nc": "00000001", "cnonce": "c"}, nil},
		{"qop auth without nc", map[string]string{"qop": "auth", "cnonce": "c"}, ErrBadCredentials},
		{"auth-int", map[string]string{"qop": "auth-int", "nc": "1", "cnonce": "c"}, ErrUnsupportedQOP},
		{"sha-256", map[string]string{"algorithm": "SHA-256"}, ErrUnsupportedQOP},
		{"md5 lower", map[string]string{"algorithm": "md5"}, nil},
		{"no response", map[string]string{"response": ""}, ErrBadCredentials},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			maps.Copy(c, tc.set)
			if err := checkCredentialFields(c); !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
		})
	}
}

// TestDigestResponseRFC2617 checks the RFC 2617 section 3.5 example
// (HTTP, qop=auth), which exercises the same arithmetic as SIP.
func TestDigestResponseRFC2617(t *testing.T) {
	c := map[string]string{
		"username": "Mufasa", "realm": "testrealm@host.com", "nonce": "dcd98b7102dd2f0e8b11d0f600bfb0c093",
		"uri": "/dir/index.html", "qop": "auth", "nc": "00000001", "cnonce": "0a4f113b",
	}
	if got := digestResponse(c, "GET", "Circle Of Life"); got != "6629fae49393a05397450978507c4ef1" {
		t.Fatalf("response %s", got)
	}
}

func TestSanitizeRealm(t *testing.T) {
	if got := sanitizeRealm("hot\"line\r\nX: y\\"); got != "hotlineX: y" {
		t.Fatalf("%q", got)
	}
}

func TestAuthResultString(t *testing.T) {
	for r, s := range map[AuthResult]string{AuthOK: "ok", AuthMissing: "missing", AuthStale: "stale",
		AuthBad: "bad", AuthUnknownUser: "unknown-user", AuthResult(42): "AuthResult(42)"} {
		if r.String() != s {
			t.Fatalf("%d: %q", int(r), r.String())
		}
	}
}
