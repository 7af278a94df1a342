package main

import (
	"maps"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDirectory: GET /api/v1/directory lists the demo centre's transfer
// directory (CONTRACT.md: 12333, 12315, 95598 through the carrier trunk,
// 110/119/120), durations in seconds; it answers only with a bearer token;
// a reload (SIGHUP) changes what it lists.
func TestDirectory(t *testing.T) {
	t.Parallel()
	e := startDemo(t, demoOpts{})
	if code := apiStatus(t, e, http.MethodGet, "/api/v1/directory", "", ""); code != http.StatusUnauthorized {
		t.Errorf("without a token: %d, want 401", code)
	}
	if code := apiStatus(t, e, http.MethodGet, "/api/v1/directory", "", "wrong-token-1"); code != http.StatusUnauthorized {
		t.Errorf("with a wrong token: %d, want 401", code)
	}
	var got []map[string]any
	apiGet(t, e, "directory", &got)
	want := []map[string]any{
		{"name": "social-security", "number": "12333", "kind": "department", "target": "sip:12333@127.0.0.1:5092",
			"uri": "sip:12333@127.0.0.1:5092", "ring_timeout": 15.0, "hours": "department", "mode": "consult", "key": "*51",
			"caller_id": "citizen", "fallback": "agent", "derived": false},
		{"name": "market-regulation", "number": "12315", "kind": "subcentre", "target": "sip:12315@127.0.0.1:5093",
			"uri": "sip:12315@127.0.0.1:5093", "ring_timeout": 15.0, "hours": "subcentre", "mode": "consult", "key": "*52",
			"caller_id": "citizen", "fallback": "ticket", "derived": false},
		{"name": "power-grid", "number": "95598", "kind": "department", "trunk": "carrier",
			"uri": "sip:95598@127.0.0.1:5091", "ring_timeout": 15.0, "mode": "consult", "key": "*53",
			"caller_id": "centre", "fallback": "ticket", "derived": false},
		{"name": "police", "number": "110", "kind": "emergency", "target": "sip:110@127.0.0.1:5094",
			"uri": "sip:110@127.0.0.1:5094", "ring_timeout": 15.0, "mode": "conference", "key": "*0110",
			"caller_id": "citizen", "fallback": "agent", "derived": false},
	}
	if len(got) != 7 {
		t.Fatalf("%d entries, want 7 (12333, 12315, 95598, 110, 119, 120, 122): %v", len(got), got)
	}
	for i, w := range want {
		if !maps.Equal(got[i], w) {
			t.Errorf("entry %d:\n got %v\nwant %v", i, got[i], w)
		}
	}
	for i, number := range []string{"119", "120", "122"} {
		if g := got[4+i]; g["number"] != number || g["kind"] != "emergency" || g["mode"] != "conference" {
			t.Errorf("entry %d: %v, want emergency %s in conference", 4+i, g, number)
		}
	}
	if got[6]["name"] != "122" || got[6]["derived"] != true {
		t.Errorf("122 is named by no entry, so it is derived: %v", got[6])
	}

	raw, err := os.ReadFile(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(raw), "directory:\n", "directory:\n  - {name: water, number: \"96116\", kind: department, trunk: carrier, ring_timeout: 20s}\n", 1)
	if err := os.WriteFile(e.cfg, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	e.signal(syscall.SIGHUP)
	if _, err := e.log.wait(`msg="config reloaded"`, 10*time.Second); err != nil {
		t.Fatalf("reload: %v\n%s", err, e.log.tail(20))
	}
	got = nil
	apiGet(t, e, "directory", &got)
	if len(got) != 8 || got[0]["name"] != "water" || got[0]["ring_timeout"] != 20.0 || got[0]["uri"] != "sip:96116@127.0.0.1:5091" {
		t.Errorf("after the reload: %v", got)
	}
}
