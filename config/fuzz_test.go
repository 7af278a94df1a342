package config

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary files to Parse: it must never panic, and must
// either accept the file with the required fields set or refuse it with
// problems that each carry the file name and a line inside the file.
// Seeds: the demo centre, the base configs and every bad file of the tables;
// testdata/fuzz/FuzzParse holds the corpus entries found so far.
func FuzzParse(f *testing.F) {
	demo, err := os.ReadFile(demoPath)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(demo)
	f.Add([]byte(baseYAML))
	f.Add([]byte(ivrYAML))
	f.Add([]byte(acdYAML))
	f.Add([]byte(dirYAML))
	for _, tc := range slices.Concat(badCases(f), ivrBadCases(f), acdBadCases(f), dirBadCases(f)) {
		f.Add([]byte(tc.text))
	}
	fsys := testFS()
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data, fsys)
		if err == nil {
			if c.Centre == "" || !c.SIP.Address.IsValid() || !c.RTP.Address.IsValid() || len(c.SIP.Transports) == 0 {
				t.Fatalf("accepted an incomplete config: %+v", c)
			}
			return
		}
		var errs *Errors
		if !errors.As(err, &errs) || len(errs.Problems) == 0 {
			t.Fatalf("error %T without problems: %v", err, err)
		}
		// YAML ends a line at \n, \r\n and a lone \r.
		lines := bytes.Count(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), []byte("\n")) +
			bytes.Count(data, []byte("\r")) - bytes.Count(data, []byte("\r\n")) + 2
		for _, p := range errs.Problems {
			if p.File != "fuzz.yaml" || p.Line < 1 || p.Line > lines || p.Msg == "" {
				t.Fatalf("bad problem %+v (file has %d lines)", p, lines-1)
			}
		}
	})
}

// TestPlainText: what YAML would number differently from the file's lines
// is refused at the right line: UTF-16, bytes that are not UTF-8, and the
// Unicode line breaks (found by FuzzParse: a UTF-16 file of two U+2028).
func TestPlainText(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"utf-16", "\xff\xfe( ( 00", "fuzz.yaml:1: the file is UTF-16"},
		{"latin-1", "centre: test\nsip:\n  user_agent: caf\xe9\n", "fuzz.yaml:3: byte 0xe9 is not UTF-8"},
		{"line separator", "centre: test\rsip: x\u2028y\n", "fuzz.yaml:2: the character U+2028"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("fuzz.yaml", []byte(tc.text), testFS())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
