package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// tlsYAML is baseYAML with a sip.tls section on lines 3-7 (ca on 7 when
// given).
func tlsYAML(t testing.TB, listen, cert, key, ca string) string {
	t.Helper()
	sec := "sip:\n  tls:\n    listen: " + listen + "\n    cert: " + cert + "\n    key: " + key + "\n"
	if ca != "" {
		sec += "    ca: " + ca + "\n"
	}
	return edit(t, "sip:\n", sec)
}

func TestTLSConfig(t *testing.T) {
	certs := testpeer.MakeCerts(t)
	text := editText(t, tlsYAML(t, "127.0.0.1:5061", certs.Chain, certs.Key, certs.CA),
		"    acl: [127.0.0.1/32]", "    acl: [127.0.0.1/32]\n    transport: tls\n    outbound: sip:127.0.0.1:5071\n    srtp: require")
	probs, c := problems(t, text)
	if c == nil {
		t.Fatalf("refused: %v", probs)
	}
	tl := c.SIP.TLS
	if tl == nil || tl.Listen.String() != "127.0.0.1:5061" || len(tl.Certificate.Certificate) != 2 || tl.Roots == nil {
		t.Fatalf("tls: %+v", tl)
	}
	if got := c.Trunks[0].OutboundURI("12345"); got != "sip:12345@127.0.0.1:5071;transport=tls" {
		t.Errorf("outbound URI %q", got)
	}
	if got := c.Trunks[0].PingURI(); got != "sip:127.0.0.1:5071;transport=tls" {
		t.Errorf("ping URI %q", got)
	}
	if c.TrunkSRTP("carrier") != SRTPRequire || c.TrunkSRTP("nobody") != SRTPOff || c.SeatSRTP("1001") != SRTPOff {
		t.Errorf("srtp policies: trunk %s, seat %s", c.TrunkSRTP("carrier"), c.SeatSRTP("1001"))
	}
	_, c = problems(t, edit(t, "sip:\n", "sip:\n  seat_srtp: offer\n", seat1001, seat1001+"\n  - {extension: \"1002\", password: demo-1002, skills: [general], srtp: require}"))
	if c == nil || c.SeatSRTP("1001") != SRTPOffer || c.SeatSRTP("1002") != SRTPRequire || c.SIP.TLS != nil {
		t.Fatalf("seat srtp: %+v", c)
	}
}

// TestTLSConfigBad: every kind of bad TLS file or SRTP key, with its line.
func TestTLSConfigBad(t *testing.T) {
	certs := testpeer.MakeCerts(t)
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(certs.Dir, "missing.pem")
	checkBadCases(t, []badCase{
		{"missing certificate file", tlsYAML(t, "127.0.0.1:0", missing, certs.Key, ""), []string{
			`5: sip.tls.cert: cannot read "` + missing + `": no such file or directory`,
		}},
		{"key file is a folder", tlsYAML(t, "127.0.0.1:0", certs.Cert, certs.Dir, ""), []string{
			`6: sip.tls.key: cannot read "` + certs.Dir + `": is a directory`,
		}},
		{"key of another certificate", tlsYAML(t, "127.0.0.1:0", certs.Cert, certs.OtherKey(t), ""), []string{
			`6: sip.tls.key: `, // "private key does not match public key"
		}},
		{"certificate not PEM", tlsYAML(t, "127.0.0.1:0", garbage, certs.Key, ""), []string{
			`6: sip.tls.key: `,
		}},
		{"CA not PEM", tlsYAML(t, "127.0.0.1:0", certs.Cert, certs.Key, garbage), []string{
			`7: sip.tls.ca: "` + garbage + `" holds no PEM certificate`,
		}},
		{"no key", edit(t, "sip:\n", "sip:\n  tls:\n    listen: 127.0.0.1:0\n    cert: "+certs.Cert+"\n"), []string{
			`4: sip.tls: missing required key "key"`,
		}},
		{"listen clashes with sip.address", edit(t, "sip:\n  address: 127.0.0.1:0", "sip:\n  address: 127.0.0.1:5060\n  tls: {listen: '127.0.0.1:5060', cert: "+certs.Cert+", key: "+certs.Key+"}"), []string{
			`4: sip.tls.listen: 127.0.0.1:5060 clashes with sip.address 127.0.0.1:5060 (both listen on TCP)`,
		}},
		{"unknown srtp policy", edit(t, "sip:\n", "sip:\n  seat_srtp: maybe\n"), []string{
			`3: sip.seat_srtp: unknown srtp policy "maybe" (known: off, offer, require)`,
		}},
		{"trunk transport without outbound", edit(t, "    acl: [127.0.0.1/32]", "    acl: [127.0.0.1/32]\n    transport: tls"), []string{
			`13: trunks[0].transport: is how calls to the trunk's outbound address go: set outbound too`,
		}},
		{"unknown trunk transport", edit(t, "    acl: [127.0.0.1/32]", "    acl: [127.0.0.1/32]\n    transport: sctp\n    srtp: always"), []string{
			`13: trunks[0].transport: unknown transport "sctp" (known: udp, tcp, tls)`,
			`14: trunks[0].srtp: unknown srtp policy "always" (known: off, offer, require)`,
		}},
	})
}
