package main

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// TestPrivacy: the JSON snapshots (caller numbers, phone addresses) answer
// only with a bearer token, the read token reads but cannot change state,
// /metrics and /healthz stay open, and the records are readable by the
// engine's user only.
func TestPrivacy(t *testing.T) {
	t.Parallel()
	const readToken = "read-only-123"
	e := startEngine(t, centreOpts{Seats: 1, HTTPExtra: "  read_token: " + readToken + "\n"})
	get := func(path, token string) int {
		t.Helper()
		return apiStatus(t, e, http.MethodGet, path, "", token)
	}
	for _, path := range []string{"/api/v1/calls", "/api/v1/agents", "/api/v1/queues", "/api/v1/centre", "/api/v1/wallboard", "/api/v1/trunks"} {
		if code := get(path, ""); code != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d, want 401", path, code)
		}
		if code := get(path, "wrong-token-1"); code != http.StatusUnauthorized {
			t.Errorf("%s with a wrong token: %d, want 401", path, code)
		}
		for _, tok := range []string{testToken, readToken} {
			if code := get(path, tok); code != http.StatusOK {
				t.Errorf("%s with token %s: %d, want 200", path, tok, code)
			}
		}
	}
	for _, path := range []string{"/metrics", "/healthz"} {
		if code := get(path, ""); code != http.StatusOK {
			t.Errorf("%s: %d, want 200 without a token", path, code)
		}
	}
	for _, token := range []string{"", readToken} { // changing a recording needs the admin token
		if code := apiStatus(t, e, http.MethodPost, "/api/v1/calls/x/recording", `{"action":"pause"}`, token); code != http.StatusUnauthorized {
			t.Errorf("pausing a recording with token %q: %d, want 401", token, code)
		}
	}
	if code := get("/wallboard", ""); code != http.StatusOK { // the page holds no data
		t.Errorf("/wallboard: %d, want 200 without a token", code)
	}
	if code := agentState(t, e, "1001", `{"state":"logout"}`, readToken); code != http.StatusUnauthorized {
		t.Errorf("state change with the read token: %d, want 401", code)
	}

	res := testpeer.RunSipp(t, testpeer.SippOptions{
		LocalIP:  carrierIP,
		Scenario: testpeer.ScenarioPath(t, "uac_expect_reject.xml"), Target: e.target(),
		Service: "99999", Calls: 1, TraceMessages: true, Timeout: 15 * time.Second,
	})
	if codes := res.FinalCodes(); len(codes) == 0 || codes[len(codes)-1] != 404 {
		t.Fatalf("unknown number: %v\n%s", codes, res)
	}
	e.waitRecords(1, 15*time.Second)
	dir := filepath.Join(e.dir, "data", "records")
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	for path, want := range map[string]os.FileMode{dir: 0o700, files[0]: 0o600} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, info.Mode().Perm(), want)
		}
	}
}
