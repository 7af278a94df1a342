package config

import (
	"errors"
	"testing"
	"time"
)

// dirYAML adds hours and a directory to acdYAML (whose trunk has an
// outbound address, whose queues are general and complaints, and whose
// login code is *21); the rows of dirBadCases edit it. Line 54 is
// "directory:", 55 police, 56-65 social-security, 66 power-grid.
var dirYAML = acdYAML + `hours:
  office:
    mon-fri: ["09:00-17:00"]
directory:
  - {name: police, number: "110", key: "*0110"}
  - name: social-security
    number: "12333"
    kind: department
    target: sip:12333@127.0.0.1:5092
    ring_timeout: 20s
    hours: office
    mode: conference
    key: "*51"
    caller_id: centre
    fallback: queue:complaints
  - {name: power-grid, number: "95598", kind: department, trunk: carrier, fallback: ticket}
`

// editDir replaces each old with new in dirYAML (pairs); old must occur once.
func editDir(t testing.TB, pairs ...string) string {
	t.Helper()
	return editText(t, dirYAML, pairs...)
}

// dirBadCases are the refused directory sections, as in badCases.
func dirBadCases(t testing.TB) []badCase {
	const power = `{name: power-grid, number: "95598", kind: department, trunk: carrier, fallback: ticket}`
	return []badCase{
		{"not a list", acdYAML + "directory: police\n", []string{
			`51: directory: must be a list, not the string "police"`,
		}},
		{"missing name and number", editDir(t, power, "{kind: department, trunk: carrier}"), []string{
			`66: directory[2]: missing required key "name"`,
			`66: directory[2]: missing required key "number"`,
		}},
		{"unknown key", editDir(t, "fallback: ticket}", "fallback: ticket, extension: 1001}"), []string{
			`66: directory[2]: unknown key "extension" (known: caller_id, fallback, hours, key, kind, mode, name, number, record, ring_timeout, target, trunk)`,
		}},
		{"name not starting with a letter", editDir(t, "name: police", "name: 7up"), []string{
			`55: directory[0].name: "7up" must be a name starting with a-z, made of a-z, 0-9, - and _ (so it never looks like a number)`,
		}},
		{"name with capitals", editDir(t, "name: police", "name: Police"), []string{
			`55: directory[0].name: "Police" must be a name starting with a-z, made of a-z, 0-9, - and _ (at most 64 characters)`,
		}},
		{"duplicate name", editDir(t, "name: power-grid", "name: police"), []string{
			`66: directory[2].name: entry "police" is already defined (line 55)`,
		}},
		{"duplicate number", editDir(t, `number: "95598"`, `number: "12333"`), []string{
			`66: directory[2].number: number 12333 is already entry "social-security"'s (line 57)`,
		}},
		{"number not digits", editDir(t, `number: "95598"`, `number: "9559x"`), []string{
			`66: directory[2].number: must be 2 to 20 digits, not "9559x"`,
		}},
		{"number is an extension", editDir(t, `number: "95598"`, `number: "1001"`), []string{
			`66: directory[2].number: 1001 is a seat's extension; a transfer to a seat needs no directory entry`,
		}},
		{"target and trunk", editDir(t, "trunk: carrier,", "trunk: carrier, target: sip:95598@127.0.0.1,"), []string{
			`66: directory[2].trunk: give target or trunk, not both`,
		}},
		{"neither target nor trunk", editDir(t, "trunk: carrier, ", ""), []string{
			`66: directory[2]: needs a target (a sip: URI) or a trunk to dial 95598 through; only the number of a parallel or subcentre line or of an emergency target may leave both out`,
		}},
		{"unknown trunk", editDir(t, "trunk: carrier", "trunk: pstn"), []string{
			`66: directory[2].trunk: unknown trunk "pstn" (trunks: carrier)`,
		}},
		{"trunk without an outbound address", editDir(t, `outbound: "sip:127.0.0.1:5070",`, ""), []string{
			"38: queues[0].callback: callback needs a trunk with an outbound address",
			`66: directory[2].trunk: trunk "carrier" has no outbound address to dial 95598 through (trunks[0], line 11)`,
		}},
		{"target not a SIP URI", editDir(t, "target: sip:12333@127.0.0.1:5092", "target: 12333@127.0.0.1:5092"), []string{
			`59: directory[1].target: "12333@127.0.0.1:5092" is not a SIP URI such as sip:12333@10.1.2.3:5060: it must start with sip:`,
		}},
		{"unknown kind", editDir(t, "kind: department\n", "kind: ministry\n"), []string{
			`58: directory[1].kind: unknown kind "ministry" (known: department, subcentre, emergency, centre)`,
		}},
		{"missing kind", editDir(t, "kind: department, trunk", "trunk"), []string{
			`66: directory[2]: needs a kind (department, subcentre, emergency, centre)`,
		}},
		{"emergency number of another kind", editDir(t, `"110", key`, `"110", kind: department, key`), []string{
			`55: directory[0].kind: 110 is an emergency number, so its kind is emergency (conference first), not department`,
		}},
		{"well-known emergency number of another kind", editDir(t, `number: "95598"`, `number: "122"`), []string{
			`66: directory[2].kind: 122 is an emergency number, so its kind is emergency (conference first), not department`,
		}},
		{"ring_timeout below 1s", editDir(t, "ring_timeout: 20s", "ring_timeout: 500ms"), []string{
			`60: directory[1].ring_timeout: must be at least 1s, not 500ms`,
		}},
		{"unknown hours", editDir(t, "hours: office\n    mode", "hours: night\n    mode"), []string{
			`61: directory[1].hours: unknown hours "night" (hours: office)`,
		}},
		{"unknown calling_hours", dirYAML + "calling_hours: night\n", []string{
			`67: calling_hours: unknown hours "night" (hours: office)`,
		}},
		{"unknown mode", editDir(t, "mode: conference", "mode: transfer"), []string{
			`62: directory[1].mode: unknown mode "transfer" (known: blind, consult, conference)`,
		}},
		{"unknown caller_id", editDir(t, "caller_id: centre", "caller_id: operator"), []string{
			`64: directory[1].caller_id: unknown caller_id "operator" (known: citizen, centre)`,
		}},
		{"not a fallback", editDir(t, "fallback: queue:complaints", "fallback: voicemail"), []string{
			`65: directory[1].fallback: "voicemail" is not a fallback (agent, ticket or queue:NAME)`,
		}},
		{"fallback to an unknown queue", editDir(t, "fallback: queue:complaints", "fallback: queue:nowhere"), []string{
			`65: directory[1].fallback: unknown queue "nowhere" (queues: general, complaints, market)`,
		}},
		{"key not a code", editDir(t, `key: "*51"`, `key: "51"`), []string{
			`63: directory[1].key: "51" must be 2 to 8 of 0-9, * and #, starting with * or #`,
		}},
		{"key not quoted", editDir(t, `key: "*51"`, `key: 51`), []string{
			`63: directory[1].key: must be a code such as "*11", not the number 51`,
		}},
		{"duplicate key", editDir(t, `key: "*0110"`, `key: "*51"`), []string{
			`63: directory[1].key: "*51" clashes with entry "police"'s key at line 55 ("*51"): no code may begin another`,
		}},
		{"key begins another key", editDir(t, `key: "*0110"`, `key: "*5"`), []string{
			`63: directory[1].key: "*51" clashes with entry "police"'s key at line 55 ("*5"): no code may begin another`,
		}},
		{"key is a feature code", editDir(t, `key: "*51"`, `key: "*21"`), []string{
			`63: directory[1].key: "*21" clashes with the feature code acd.feature_codes.login ("*21")`,
		}},
		{"key is a default feature code", editDir(t, `key: "*51"`, `key: "*12"`), []string{
			`63: directory[1].key: "*12" clashes with the feature code acd.feature_codes.logout ("*12")`,
		}},
		{"key begins with the consult code", editDir(t, `key: "*51"`, `key: "*29"`), []string{
			`63: directory[1].key: "*29" clashes with the in-call code for consult (*2<number>#) and complete a consult ("*2")`,
		}},
		{"key begins with the blind transfer code", editDir(t, `key: "*51"`, `key: "##5"`), []string{
			`63: directory[1].key: "##5" clashes with the in-call code for blind transfer (##<number>#) ("##")`,
		}},
		{"key begins with pause recording", editDir(t, `key: "*51"`, `key: "*71"`), []string{
			`63: directory[1].key: "*71" clashes with the in-call code for pause recording ("*7")`,
		}},
		{"key a swap", editDir(t, `key: "*51"`, `key: "*4"`), []string{
			`63: directory[1].key: "*4" clashes with the in-call code for swap ("*4")`,
		}},
	}
}

func TestParseRefusesBadDirectory(t *testing.T) {
	checkBadCases(t, dirBadCases(t))
}

func TestDirectoryValues(t *testing.T) {
	got, c := problems(t, dirYAML)
	if got != nil {
		t.Fatalf("dirYAML refused:\n%s", (&Errors{got}).Error())
	}
	want := []Entry{
		{Name: "police", Number: "110", Kind: KindEmergency, Target: "sip:110@127.0.0.1:5094", URI: "sip:110@127.0.0.1:5094",
			RingTimeout: 15 * time.Second, Mode: TransferConference, Key: "*0110", CallerID: CallerIDCitizen, Fallback: Fallback{Kind: FallbackAgent}},
		{Name: "social-security", Number: "12333", Kind: KindDepartment, Target: "sip:12333@127.0.0.1:5092", URI: "sip:12333@127.0.0.1:5092",
			RingTimeout: 20 * time.Second, Hours: "office", Mode: TransferConference, Key: "*51", CallerID: CallerIDCentre,
			Fallback: Fallback{Kind: FallbackQueue, Queue: "complaints"}},
		{Name: "power-grid", Number: "95598", Kind: KindDepartment, Trunk: "carrier", URI: "sip:95598@127.0.0.1:5070",
			RingTimeout: 15 * time.Second, Mode: TransferConsult, CallerID: CallerIDCitizen, Fallback: Fallback{Kind: FallbackTicket}},
		{Name: "12315", Number: "12315", Kind: KindSubcentre, Target: "sip:12315@127.0.0.1:5093", URI: "sip:12315@127.0.0.1:5093",
			RingTimeout: 15 * time.Second, Mode: TransferConsult, CallerID: CallerIDCitizen, Fallback: Fallback{Kind: FallbackAgent}, Derived: true},
	}
	checkEntries(t, c.Directory, want)
}

func checkEntries(t *testing.T, d Directory, want []Entry) {
	t.Helper()
	if len(d.Entries) != len(want) {
		t.Fatalf("%d entries, want %d: %+v", len(d.Entries), len(want), d.Entries)
	}
	for i, w := range want {
		if d.Entries[i] != w {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, d.Entries[i], w)
		}
	}
}

// TestDirectoryInherits: an entry numbered like a subcentre line takes the
// line's target, kind, ring time and hours; what it gives wins.
func TestDirectoryInherits(t *testing.T) {
	text := edit(t, "    target: sip:12315@127.0.0.1:5093\n",
		"    target: sip:12315@127.0.0.1:5093\n    ring_timeout: 25s\n    hours: office\n")
	text += "hours:\n  office:\n    mon-fri: [\"09:00-17:00\"]\ndirectory:\n" +
		"  - {name: market, number: \"12315\", key: \"*52\", mode: blind}\n" +
		"  - {name: fire, number: \"119\", kind: emergency, target: \"sip:119@127.0.0.1:5095\", mode: blind}\n"
	got, c := problems(t, text)
	if got != nil {
		t.Fatalf("refused:\n%s", (&Errors{got}).Error())
	}
	checkEntries(t, c.Directory, []Entry{
		{Name: "market", Number: "12315", Kind: KindSubcentre, Target: "sip:12315@127.0.0.1:5093", URI: "sip:12315@127.0.0.1:5093",
			RingTimeout: 25 * time.Second, Hours: "office", Mode: TransferBlind, Key: "*52", CallerID: CallerIDCitizen, Fallback: Fallback{Kind: FallbackAgent}},
		{Name: "fire", Number: "119", Kind: KindEmergency, Target: "sip:119@127.0.0.1:5095", URI: "sip:119@127.0.0.1:5095",
			RingTimeout: 15 * time.Second, Mode: TransferBlind, CallerID: CallerIDCitizen, Fallback: Fallback{Kind: FallbackAgent}},
		{Name: "110", Number: "110", Kind: KindEmergency, Target: "sip:110@127.0.0.1:5094", URI: "sip:110@127.0.0.1:5094",
			RingTimeout: 15 * time.Second, Mode: TransferConference, CallerID: CallerIDCitizen, Fallback: Fallback{Kind: FallbackAgent}, Derived: true},
	})
}

func TestResolve(t *testing.T) {
	_, c := problems(t, dirYAML)
	for _, tc := range []struct{ keyed, want string }{
		{"110", "police"},
		{"police", "police"},
		{"*0110", "police"},
		{"12333", "social-security"},
		{"social-security", "social-security"},
		{"*51", "social-security"},
		{"95598", "power-grid"},
		{"12315", "12315"}, // derived: its name is its number
	} {
		e, err := c.Directory.Resolve(tc.keyed)
		if err != nil || e.Name != tc.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tc.keyed, e.Name, err, tc.want)
		}
	}
	for _, keyed := range []string{"", "119", "1001", "12345", "*5", "*0110#", "Police", " 110", "sip:110@127.0.0.1"} {
		e, err := c.Directory.Resolve(keyed)
		if !errors.Is(err, ErrNotInDirectory) || e != (Entry{}) {
			t.Errorf("Resolve(%q) = %+v, %v; want ErrNotInDirectory", keyed, e, err)
		}
	}
	if _, err := c.Directory.Resolve("999"); err == nil || err.Error() != `config: not in the directory: "999"` {
		t.Errorf("error text: %v", err)
	}
}

// TestDemoDirectory checks the demo centre's directory against CONTRACT.md.
func TestDemoDirectory(t *testing.T) {
	c, err := Load(demoPath)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ name, number, kind, uri, mode, key string }{
		{"social-security", "12333", KindDepartment, "sip:12333@127.0.0.1:5092", TransferConsult, "*51"},
		{"market-regulation", "12315", KindSubcentre, "sip:12315@127.0.0.1:5093", TransferConsult, "*52"},
		{"power-grid", "95598", KindDepartment, "sip:95598@127.0.0.1:5091", TransferConsult, "*53"},
		{"police", "110", KindEmergency, "sip:110@127.0.0.1:5094", TransferConference, "*0110"},
		{"fire", "119", KindEmergency, "sip:119@127.0.0.1:5095", TransferConference, "*0119"},
		{"ambulance", "120", KindEmergency, "sip:120@127.0.0.1:5096", TransferConference, "*0120"},
		{"122", "122", KindEmergency, "sip:122@127.0.0.1:5097", TransferConference, ""},
	}
	if len(c.Directory.Entries) != len(want) {
		t.Fatalf("%d entries, want %d: %+v", len(c.Directory.Entries), len(want), c.Directory.Entries)
	}
	for i, w := range want {
		e := c.Directory.Entries[i]
		if e.Name != w.name || e.Number != w.number || e.Kind != w.kind || e.URI != w.uri || e.Mode != w.mode || e.Key != w.key ||
			e.RingTimeout != 15*time.Second {
			t.Errorf("entry %d = %+v, want %+v", i, e, w)
		}
	}
	if e, _ := c.Directory.Resolve("12333"); e.Hours != "department" {
		t.Errorf("12333 hours %q, want the line's (department)", e.Hours)
	}
	if e, _ := c.Directory.Resolve("95598"); e.Trunk != "carrier" || e.CallerID != CallerIDCentre || e.Fallback.String() != FallbackTicket {
		t.Errorf("95598 = %+v", e)
	}
}
