package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// reportData copies the report fixtures (testdata/report/*.jsonl) into
// DIR/records and returns DIR.
func reportData(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files, err := filepath.Glob("../../testdata/report/*.jsonl")
	if err != nil || len(files) == 0 {
		t.Fatalf("fixtures: %v %v", files, err)
	}
	if err := os.Mkdir(filepath.Join(dir, "records"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "records", filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestReportCommand runs `hotline report` through run: the output of the
// fixtures (the report package's tests check its figures), the warning
// for the malformed line, and exit 2 with a clear message for bad input.
func TestReportCommand(t *testing.T) {
	data := reportData(t)
	golden, err := os.ReadFile("../../testdata/report/by-queue.md")
	if err != nil {
		t.Fatal(err)
	}
	// A centre's config gives the data directory and time zone.
	prompts, _ := filepath.Abs("../../testdata/prompts")
	demo, err := os.ReadFile("../../testdata/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(demo), "data_dir: ./data", "data_dir: "+data, 1)
	cfg = strings.Replace(cfg, "dir: prompts", "dir: "+prompts, 1)
	cfgPath := filepath.Join(t.TempDir(), "centre.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	days := []string{"-from", "2026-11-02", "-to", "2026-11-03"}
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		stdout  string // a part of it ("" checks nothing)
		stderr  string
		ownDays bool // args name the days (else -from/-to 2026-11-02..03 are added)
	}{
		{"markdown", []string{"-data", data, "-tz", "Asia/Shanghai", "-by", "queue", "-format", "md"}, 0, string(golden), "2026-11-02.jsonl:11: ", false},
		{"config", []string{"-config", cfgPath, "-by", "queue", "-format", "md"}, 0, string(golden), "1 malformed lines skipped", false},
		{"one day", []string{"-data", data, "-tz", "Asia/Shanghai", "-from", "2026-11-03"}, 0, "\n2026-11-03,6,4,0.6667,", "", true},
		{"unknown by", []string{"-data", data, "-by", "week"}, 2, "", `unknown grouping "week"`, false},
		{"unknown format", []string{"-data", data, "-format", "xlsx"}, 2, "", `unknown format "xlsx"`, false},
		{"from after to", []string{"-data", data, "-from", "2026-11-03", "-to", "2026-11-02"}, 2, "", "from 2026-11-03 is after to 2026-11-02", true},
		{"no from", []string{"-data", data}, 2, "", "-from is required", true},
		{"bad date", []string{"-data", data, "-from", "2026-13-01"}, 2, "", `bad -from "2026-13-01"`, true},
		{"bad zone", []string{"-data", data, "-tz", "Mars/Olympus"}, 2, "", "bad -tz", false},
		{"no directory", []string{"-data", filepath.Join(data, "none")}, 2, "", "report: records: open " + filepath.Join(data, "none", "records"), false},
		{"unknown flag", []string{"-data", data, "-week"}, 2, "", "flag provided but not defined: -week", false},
		{"argument", []string{"-data", data, "extra"}, 2, "", `unexpected argument "extra"`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"report"}, tc.args...)
			if !tc.ownDays {
				args = append(args, days...)
			}
			var stdout, stderr bytes.Buffer
			code := run(args, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stdout.String(), tc.stdout) || !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("hotline %s: exit %d, want %d\nstdout:\n%s\nwant in it:\n%s\nstderr:\n%s\nwant in it: %q",
					strings.Join(args, " "), code, tc.code, stdout.String(), tc.stdout, stderr.String(), tc.stderr)
			}
		})
	}

	var stdout, stderr bytes.Buffer
	if code := run(append([]string{"report", "-data", data, "-tz", "Asia/Shanghai", "-by", "entry", "-format", "json"}, days...), &stdout, &stderr); code != 0 {
		t.Fatalf("json: exit %d: %s", code, stderr.String())
	}
	var rows []map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &rows); err != nil {
		t.Fatalf("json: %v\n%s", err, stdout.String())
	}
	if len(rows) != 5 || rows[3]["entry"] != "water" || rows[3]["transfer_15s_rate"] != 0.3333 || rows[4]["transfers"] != 8.0 {
		t.Errorf("json by entry: %v", rows)
	}
}
