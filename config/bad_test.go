package config

import (
	"testing"
	"time"
)

const seat1001 = `  - {extension: "1001", password: demo-1001, skills: [general, market:7]}`

// badCases are kinds of bad file, each with every problem expected, as
// "LINE: text the message contains", in order. Line numbers refer to
// baseYAML after the edit.
func badCases(t testing.TB) []badCase {
	return []badCase{
		{"unknown key", edit(t, "  address: 127.0.0.1:0\nrtp", "  adress: 127.0.0.1:0\nrtp"), []string{
			`3: sip: unknown key "adress" (known: address, `,
			`3: sip: missing required key "address"`,
		}},
		{"unknown top-level key", baseYAML + "colour: blue\n", []string{
			`25: unknown key "colour" (known: acd, calendar, callback_numbers, calling_hours, centre, `,
		}},
		{"wrong type list for string", edit(t, "token: test-token", "token: [a, b]"), []string{
			"8: http.token: must be a string, not a list",
		}},
		{"wrong type string for integer", edit(t, "sip:\n", "sip:\n  max_auth_failures: two\n"), []string{
			`3: sip.max_auth_failures: must be an integer, not the string "two"`,
		}},
		{"wrong type mapping for list", edit(t, "skills: [general, market]", "skills: {general: 1}"), []string{
			"9: skills: must be a list, not a mapping",
		}},
		{"read token equals token", edit(t, "token: test-token", "token: test-token\n  read_token: test-token"), []string{
			"9: http.read_token: must differ from token",
		}},
		{"limit not a count", baseYAML + "limits: {max_calls: -1}\n", []string{
			"25: limits.max_calls: must be an integer from 0 to 1000000, not -1",
		}},
		{"limit unknown key", baseYAML + "limits:\n  max_call: 10\n", []string{
			`26: limits: unknown key "max_call" (known: max_calls, max_waiting, `,
		}},
		{"retry_after not whole seconds", baseYAML + "limits: {retry_after: 1500ms}\n", []string{
			"25: limits.retry_after: must be whole seconds from 1s to 1h (Retry-After counts seconds), not 1.5s",
		}},
		{"tcp idle timeout too short", baseYAML + "limits: {tcp_idle_timeout: 1s}\n", []string{
			"25: limits.tcp_idle_timeout: must be at least 10s, not 1s",
		}},
		{"recordings kept too briefly or for nonsense", baseYAML + "recordings: {keep: 12h}\nqueues:\n  - {name: general, record: yes-please}\n", []string{
			"25: recordings.keep: must be at least 24h0m0s, not 12h",
			`27: queues[0].record: must be true or false, not the string "yes-please"`,
		}},
		{"wallboard lights the wrong way round", baseYAML + "wallboard: {service_level_yellow: 50, service_level_red: 70, longest_wait_yellow: 60s, longest_wait_red: 30s, title: x}\n", []string{
			"25: wallboard: service_level_red (70%) must not be above service_level_yellow (50%)",
			"25: wallboard: longest_wait_red (30s) must not be below longest_wait_yellow (1m0s)",
		}},
		{"session interval not whole seconds, or too short", edit(t, "sip:\n", "sip:\n  min_session_expires: 1500ms\n"), []string{
			"3: sip.min_session_expires: must be whole seconds from 1s to 24h (Session-Expires counts seconds), not 1.5s",
		}},
		{"session interval below a second", edit(t, "sip:\n", "sip:\n  min_session_expires: 500ms\n"), []string{
			"3: sip.min_session_expires: must be at least 1s, not 500ms",
		}},
		{"seat session interval below the minimum", edit(t, "sip:\n", "sip:\n  seat_session_expires: 60s\n"), []string{
			"3: sip.seat_session_expires: 1m0s is below sip.min_session_expires (1m30s)",
		}},
		{"seat keep-alive under a second", edit(t, "sip:\n", "sip:\n  seat_keepalive: 200ms\n"), []string{
			"3: sip.seat_keepalive: must be 0s (off) or at least 1s, not 200ms",
		}},
		{"trunk pinged too often", edit(t, "    acl: [127.0.0.1/32]", "    acl: [127.0.0.1/32]\n    ping: 500ms"), []string{
			"13: trunks[0].ping: must be at least 1s, not 500ms",
		}},
		{"recordings keep in days", baseYAML + "recordings: {keep: -3d}\n", []string{
			`25: recordings.keep: "-3d" is not a duration (use a number with a unit: 500ms, 30s, 5m, 1h, 90d)`,
		}},
		{"records fsync policy unknown", baseYAML + "records: {fsync: sometimes, fsync_interval: 0s}\n", []string{
			`25: records.fsync: unknown fsync policy "sometimes"`,
			"25: records.fsync_interval: must be at least 1ms, not 0s",
		}},
		{"records stream without an address", baseYAML + "records:\n  redis_stream: {key: tickets, max_len: 0}\n", []string{
			"26: records.redis_stream.max_len: must be an integer from 1 to 100000000, not 0",
			`26: records.redis_stream: missing required key "address"`,
		}},
		{"webhook not a URL, short secret", baseYAML + "records:\n  webhook: {url: \"ftp://x\", secret: short}\n", []string{
			`26: records.webhook.url: "ftp://x" is not an http:// or https:// URL`,
			"26: records.webhook.secret: the secret must be at least 16 characters",
		}},
		{"duplicate key", edit(t, "centre: test\n", "centre: test\ncentre: again\n"), []string{
			"2: centre: duplicate key (first at line 1)",
		}},
		{"duplicate extension", edit(t, seat1001, seat1001+"\n"+seat1001), []string{
			"25: seats[1].extension: extension 1001 is already used by seats[0].extension (line 24)",
		}},
		{"extension equals a line", edit(t, `extension: "1001"`, `extension: "12345"`), []string{
			"24: seats[0].extension: extension 12345 is already used by lines[0].number (line 14)",
		}},
		{"extension equals emergency number", edit(t, `extension: "1001"`, `extension: "110"`), []string{
			"24: seats[0].extension: extension 110 is already used by emergency[0].number (line 22)",
		}},
		{"port range inverted", edit(t, "  address: 127.0.0.1\n", "  address: 127.0.0.1\n  ports: 30000-20000\n"), []string{
			"6: rtp.ports: range 30000-20000 is inverted or empty",
		}},
		{"port range odd start", edit(t, "  address: 127.0.0.1\n", "  address: 127.0.0.1\n  ports: 20001-29999\n"), []string{
			"6: rtp.ports: range 20001-29999 must start on an even port",
		}},
		{"port range too small", edit(t, "  address: 127.0.0.1\n", "  address: 127.0.0.1\n  ports: 20000-20002\n"), []string{
			"6: rtp.ports: range 20000-20002 holds 3 ports; at least 4 are needed",
		}},
		{"port range not a range", edit(t, "  address: 127.0.0.1\n", "  address: 127.0.0.1\n  ports: 20000\n"), []string{
			"6: rtp.ports: must be a string, not the number 20000",
		}},
		{"fast path unknown", edit(t, "  address: 127.0.0.1\n", "  address: 127.0.0.1\n  fast_path: xdp\n"), []string{
			`6: rtp.fast_path: unknown fast path mode "xdp" (known: auto, off)`,
		}},
		{"missing prompt file", baseYAML + "prompts: {hold_music: nothing.wav}\n", []string{
			`25: prompts.hold_music: prompt "nothing.wav" in prompts/: not found`,
		}},
		{"prompt not 8 kHz mono", baseYAML + "prompts: {welcome: stereo.wav}\n", []string{
			`25: prompts.welcome: prompt "stereo.wav" in prompts/: must be 8 kHz mono 16-bit PCM, not format 1, 44100 Hz, 2 channel(s), 16-bit`,
		}},
		{"prompt not a WAV", baseYAML + "prompts: {welcome: text.wav}\n", []string{
			`25: prompts.welcome: prompt "text.wav" in prompts/: not a RIFF WAVE file`,
		}},
		{"missing prompts dir", baseYAML + "prompts: {dir: sounds}\n", []string{
			`25: prompts.dir: folder "sounds" not found`,
		}},
		{"prompts dir outside the folder", baseYAML + "prompts: {dir: ../prompts}\n", []string{
			`25: prompts.dir: "../prompts" must be a relative path inside the config's folder`,
		}},
		{"unknown skill on seat", edit(t, "market:7", "plumbing"), []string{
			`24: seats[0].skills[1]: unknown skill "plumbing" (skills: [general market])`,
		}},
		{"unknown skill on line", edit(t, "skill: general", "skill: roads"), []string{
			`16: lines[0].skill: unknown skill "roads"`,
		}},
		{"seat skill without a name", edit(t, "market:7", "\" :7\""), []string{
			`24: seats[0].skills[1]: " :7" does not name a skill`,
		}},
		{"skill level out of range", edit(t, "market:7", "market:11"), []string{
			`24: seats[0].skills[1]: "market:11": level must be an integer from 1 to 10`,
		}},
		{"demo password on non-loopback address", edit(t, "  address: 127.0.0.1:0\nrtp", "  address: 10.1.2.3:5060\nrtp"), []string{
			"3: sip.address: demo passwords are configured (seats[0].password, line 24); refusing to listen on non-loopback address 10.1.2.3:5060",
		}},
		{"demo password on every non-loopback address", edit(t,
			"  address: 127.0.0.1:0\nrtp", "  address: 0.0.0.0:5060\nrtp",
			"  address: 127.0.0.1\n", "  address: 192.168.1.10\n",
			"  address: 127.0.0.1:0\n  token", "  address: \"[2001:db8::1]:8080\"\n  token"), []string{
			"3: sip.address: demo passwords are configured (seats[0].password, line 24); refusing to listen on non-loopback address 0.0.0.0:5060",
			"5: rtp.address: demo passwords are configured (seats[0].password, line 24); refusing to listen on non-loopback address 192.168.1.10",
			"7: http.address: demo passwords are configured (seats[0].password, line 24); refusing to listen on non-loopback address [2001:db8::1]:8080",
		}},
		{"bad CIDR", edit(t, "acl: [127.0.0.1/32]", "acl: [127.0.0.1/33, 10.0.0.1/8]"), []string{
			`12: trunks[0].acl[0]: "127.0.0.1/33" is neither a CIDR prefix (10.0.0.0/8) nor an IP address`,
			`12: trunks[0].acl[1]: "10.0.0.1/8" has host bits set; did you mean 10.0.0.0/8?`,
		}},
		{"bad seat network", edit(t, "sip:\n", "sip:\n  seat_networks: [192.168.1.1/16, nonsense]\n"), []string{
			`3: sip.seat_networks[0]: "192.168.1.1/16" has host bits set; did you mean 192.168.0.0/16?`,
			`3: sip.seat_networks[1]: "nonsense" is neither a CIDR prefix (10.0.0.0/8) nor an IP address`,
		}},
		{"empty seat networks", edit(t, "sip:\n", "sip:\n  seat_networks: []\n"), []string{
			"3: sip.seat_networks: must list at least one prefix",
		}},
		{"seat networks not a list", edit(t, "sip:\n", "sip:\n  seat_networks: 10.0.0.0/8\n"), []string{
			"3: sip.seat_networks: must be a list",
		}},
		{"auth lockout too short", edit(t, "sip:\n", "sip:\n  auth_lockout: 0s\n"), []string{
			"3: sip.auth_lockout: ",
		}},
		{"empty ACL", edit(t, "acl: [127.0.0.1/32]", "acl: []"), []string{
			"12: trunks[0].acl: must list at least one prefix",
		}},
		{"overlapping trunk ACLs", edit(t, "    acl: [127.0.0.1/32]\n", "    acl: [127.0.0.1/32]\n  - {name: other, acl: [127.0.0.0/8]}\n"), []string{
			`13: trunks[1].acl[0]: 127.0.0.0/8 overlaps 127.0.0.1/32 of trunk "carrier" (line 11)`,
		}},
		{"duplicate trunk name", edit(t, "    acl: [127.0.0.1/32]\n", "    acl: [127.0.0.1/32]\n  - {name: carrier, acl: [10.0.0.0/8]}\n"), []string{
			`13: trunks[1].name: trunk "carrier" is already defined (line 11)`,
		}},
		{"trunk names an unknown line", edit(t, "    acl: [127.0.0.1/32]\n", "    acl: [127.0.0.1/32]\n    lines: [\"12345\", \"12999\"]\n"), []string{
			"13: trunks[0].lines[1]: 12999 is not one of the lines",
		}},
		{"emergency number used as line", edit(t, `number: "12345"`, `number: "110"`), []string{
			"14: lines[0].number: 110 is an emergency number; emergency numbers are linkage targets, never inbound lines",
		}},
		{"configured emergency number used as line", edit(t,
			`number: "12345"`, `number: "96110"`,
			`{number: "110",`, `{number: "96110",`), []string{
			"14: lines[0].number: 96110 is an emergency number (emergency[0].number, line 22)",
		}},
		{"duplicate line", edit(t, `number: "12315"`, `number: "12345"`), []string{
			"17: lines[1].number: line 12345 is already used by lines[0].number (line 14)",
		}},
		{"target on a main line", edit(t, "    skill: general\n", "    skill: general\n    target: sip:x@127.0.0.1\n"), []string{
			"17: lines[0].target: only parallel and subcentre lines have a target, not a main line",
		}},
		{"ring_timeout on a merge line", edit(t, "    mode: main\n", "    mode: merge\n    ring_timeout: 10s\n"), []string{
			"16: lines[0].ring_timeout: only parallel and subcentre lines have a ring_timeout, not a merge line",
		}},
		{"subcentre without target", edit(t, "    target: sip:12315@127.0.0.1:5093\n", ""), []string{
			"17: lines[1]: a subcentre line needs a target",
		}},
		{"target not a SIP URI", edit(t, "target: sip:12315@127.0.0.1:5093", "target: http://example.com"), []string{
			`20: lines[1].target: "http://example.com" is not a SIP URI such as sip:12333@10.1.2.3:5060: it must start with sip:`,
		}},
		{"target with a bad port", edit(t, "target: sip:12315@127.0.0.1:5093", "target: sip:12315@127.0.0.1:99999"), []string{
			`20: lines[1].target: "sip:12315@127.0.0.1:99999" is not a SIP URI such as sip:12333@10.1.2.3:5060: bad port`,
		}},
		{"unknown mode", edit(t, "mode: main", "mode: forwarded"), []string{
			`15: lines[0].mode: unknown mode "forwarded" (known: main, merge, forward, parallel, subcentre)`,
		}},
		{"line number not digits", edit(t, `number: "12345"`, `number: "12-345"`), []string{
			`14: lines[0].number: must be 3 to 20 digits, not "12-345"`,
		}},
		{"announcement until before from", edit(t, "    mode: main\n",
			"    mode: merge\n    announcement: {prompt: transition.wav, from: 2026-09-01, until: 2026-09-01}\n"), []string{
			"16: lines[0].announcement.until: must be after from (2026-09-01)",
		}},
		{"announcement missing prompt and bad date", edit(t, "    mode: main\n",
			"    mode: merge\n    announcement: {prompt: gone.wav, from: 2026-13-01, until: 2027-01-01}\n"), []string{
			`16: lines[0].announcement.from: "2026-13-01" is not a date YYYY-MM-DD`,
			`16: lines[0].announcement.prompt: prompt "gone.wav" in prompts/: not found`,
		}},
		{"bad duration", edit(t, "  address: 127.0.0.1\n", "  address: 127.0.0.1\n  timeout: 30\n"), []string{
			`6: rtp.timeout: "30" is not a duration`,
		}},
		{"negative duration", baseYAML + "shutdown_grace: -5s\n", []string{
			"25: shutdown_grace: must be at least 0, not -5s",
		}},
		{"register expires out of order", edit(t, "sip:\n", "sip:\n  register_expires: {min: 600, max: 3600, default: 60}\n"), []string{
			"3: sip.register_expires: need min <= default <= max, have min 600, default 60, max 3600 (seconds)",
		}},
		{"bad transport", edit(t, "sip:\n", "sip:\n  transports: [udp, tls]\n"), []string{
			`3: sip.transports[1]: unknown transport "tls" (known: udp, tcp)`,
		}},
		{"address not ip:port", edit(t, "  address: 127.0.0.1:0\n  token", "  address: localhost:8080\n  token"), []string{
			`7: http.address: "localhost:8080" is not IP:PORT`,
		}},
		{"rtp address unspecified", edit(t, "  address: 127.0.0.1\n", "  address: 0.0.0.0\n"), []string{
			"5: rtp.address: 0.0.0.0 is advertised in SDP, so it must be a concrete address, not unspecified",
		}},
		{"rtp address6 not IPv6, or unspecified", edit(t, "  address: 127.0.0.1\n", "  address: 127.0.0.1\n  address6: 10.0.0.1\n"), []string{
			`6: rtp.address6: "10.0.0.1" is not an IPv6 address (without a zone)`,
		}},
		{"rtp address6 unspecified", edit(t, "  address: 127.0.0.1\n", "  address: 127.0.0.1\n  address6: \"::\"\n"), []string{
			"6: rtp.address6: :: is advertised in SDP, so it must be a concrete address, not unspecified",
		}},
		{"sip and http on one TCP port", edit(t,
			"  address: 127.0.0.1:0\nrtp", "  address: 127.0.0.1:5060\nrtp",
			"  address: 127.0.0.1:0\n  token", "  address: 127.0.0.1:5060\n  token"), []string{
			"7: http.address: 127.0.0.1:5060 clashes with sip.address 127.0.0.1:5060 (both listen on TCP)",
		}},
		{"sip port inside the rtp range", edit(t, "  address: 127.0.0.1:0\nrtp", "  address: 127.0.0.1:20000\nrtp"), []string{
			"3: sip.address: port 20000 lies inside rtp.ports 20000-29999 on the same address (both UDP)",
		}},
		{"short token and password", edit(t,
			"token: test-token", "token: short",
			"password: demo-1001", "password: secret"), []string{
			"8: http.token: must be at least 8 characters",
			"24: seats[0].password: must be at least 8 characters",
		}},
		{"missing required sections", "centre: test\nskills: [general]\n", []string{
			`1: missing required key "sip"`,
			`1: missing required key "rtp"`,
			`1: missing required key "http"`,
		}},
		{"bad centre name", edit(t, "centre: test", "centre: Test Centre"), []string{
			`1: centre: "Test Centre" must be made of a-z, 0-9 and -`,
		}},
		{"YAML alias", edit(t, "skills: [general, market]", "skills: &s [general, market]\nextra: *s"), []string{
			`10: unknown key "extra"`,
		}},
		{"YAML alias as a value", edit(t, "token: test-token", "token: &t test-token\n  realm: *t"), []string{
			`9: http: unknown key "realm"`,
		}},
		{"alias in seats", edit(t, seat1001, "  - &x"+seat1001[3:]+"\n  - *x"), []string{
			"25: seats[1]: YAML aliases are not supported",
		}},
		{"YAML merge key", edit(t, "  address: 127.0.0.1:0\nrtp", "  <<: {address: 127.0.0.1:0}\nrtp"), []string{
			"3: sip: YAML merge keys (<<) are not supported",
			`3: sip: missing required key "address"`,
		}},
		{"two documents", baseYAML + "---\ncentre: other\n", []string{
			"25: only one YAML document is allowed",
		}},
		{"integer too large", edit(t, "sip:\n", "sip:\n  max_auth_failures: 99999999999999999999\n"), []string{
			"3: sip.max_auth_failures: must be an integer from 0 to 100, not 99999999999999999999",
		}},
		{"not YAML", "centre: [unclosed\n", []string{
			"1: not valid YAML: ",
		}},
		{"empty file", "# nothing here\n", []string{
			"1: the file is empty",
		}},
		{"top level is a list", "- centre\n", []string{
			"1: must be a mapping of sections",
		}},
	}
}

func TestParseRefusesBadFiles(t *testing.T) {
	cases := badCases(t)
	if len(cases) < 15 {
		t.Fatalf("only %d kinds of bad file", len(cases))
	}
	checkBadCases(t, cases)
}

func TestErrorsFormat(t *testing.T) {
	got, _ := problems(t, edit(t, "token: test-token", "token: 5", "mode: main", "mode: nope"))
	want := "test.yaml:8: http.token: must be a string, not the number 5\n" +
		`test.yaml:15: lines[0].mode: unknown mode "nope" (known: main, merge, forward, parallel, subcentre)`
	if s := (&Errors{got}).Error(); s != want {
		t.Errorf("Error() =\n%s\nwant\n%s", s, want)
	}
}

// TestRecordingsKeepDays: keep takes days; queues and entries take record.
func TestRecordingsKeepDays(t *testing.T) {
	ps, c := problems(t, baseYAML+"recordings: {keep: 90d}\nqueues:\n  - {name: general, record: true, survey: true}\n")
	if len(ps) != 0 {
		t.Fatalf("problems: %v", ps)
	}
	if c.Recordings.Keep != 90*24*time.Hour {
		t.Errorf("keep %v, want 2160h", c.Recordings.Keep)
	}
	if q, _ := c.Queue("general"); !q.Record || !q.Survey {
		t.Errorf("queue %+v: want record and survey", q)
	}
}
