package config

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

// baseYAML is a small valid centre; the table tests edit single lines of it,
// so the line numbers below stay meaningful (see lineOf comments in rows).
const baseYAML = `centre: test
sip:
  address: 127.0.0.1:0
rtp:
  address: 127.0.0.1
http:
  address: 127.0.0.1:0
  token: test-token
skills: [general, market]
trunks:
  - name: carrier
    acl: [127.0.0.1/32]
lines:
  - number: "12345"
    mode: main
    skill: general
  - number: "12315"
    mode: subcentre
    skill: market
    target: sip:12315@127.0.0.1:5093
emergency:
  - {number: "110", target: "sip:110@127.0.0.1:5094"}
seats:
  - {extension: "1001", password: demo-1001, skills: [general, market:7]}
`

// wavHeader is a 44-byte PCM WAV header with no samples.
func wavHeader(rate uint32, channels, bits uint16) []byte {
	b := make([]byte, 44)
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], 36)
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], channels)
	binary.LittleEndian.PutUint32(b[24:], rate)
	binary.LittleEndian.PutUint32(b[28:], rate*uint32(channels)*uint32(bits)/8)
	binary.LittleEndian.PutUint16(b[32:], channels*bits/8)
	binary.LittleEndian.PutUint16(b[34:], bits)
	copy(b[36:], "data")
	return b
}

func testFS() fstest.MapFS {
	good := wavHeader(8000, 1, 16)
	fs := fstest.MapFS{
		"prompts/welcome.wav":    {Data: good},
		"prompts/hold.wav":       {Data: good},
		"prompts/transition.wav": {Data: good},
		"prompts/stereo.wav":     {Data: wavHeader(44100, 2, 16)},
		"prompts/text.wav":       {Data: []byte("not a wav file at all")},
		"prompts/menu.wav":       {Data: good},
		"prompts/invalid.wav":    {Data: good},
		"prompts/dual.wav":       {Data: good},
		"prompts/yue/menu.wav":   {Data: good},
		"prompts/yue/dual.wav":   {Data: wavHeader(8000, 2, 16)},
	}
	for _, name := range append(CallbackPrompts, SurveyPrompts...) {
		fs["prompts/"+name] = &fstest.MapFile{Data: good}
	}
	return fs
}

// edit replaces each old with new in baseYAML (pairs); old must occur once.
func edit(t testing.TB, pairs ...string) string {
	t.Helper()
	return editText(t, baseYAML, pairs...)
}

// editText replaces each old with new in base (pairs); old must occur once.
func editText(t testing.TB, base string, pairs ...string) string {
	t.Helper()
	s := base
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.Count(s, pairs[i]) != 1 {
			t.Fatalf("edit: %q occurs %d times", pairs[i], strings.Count(s, pairs[i]))
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}

// badCase is a refused file and the problems it must get, each "LINE: text"
// (the message must contain text).
type badCase = struct {
	name string
	text string
	want []string
}

// checkBadCases parses each case and compares its problems, in order.
func checkBadCases(t *testing.T, cases []badCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := problems(t, tc.text)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tc.want), (&Errors{got}).Error())
			}
			for i, w := range tc.want {
				line, msg, _ := strings.Cut(w, ": ")
				if fmt.Sprint(got[i].Line) != line || !strings.Contains(got[i].Msg, msg) || got[i].File != "test.yaml" {
					t.Errorf("problem %d:\n got %s\nwant test.yaml:%s: …%s…", i, got[i], line, msg)
				}
			}
		})
	}
}

// problems parses text and returns its problems (nil when valid).
func problems(t testing.TB, text string) ([]Problem, *Config) {
	t.Helper()
	c, err := Parse("test.yaml", []byte(text), testFS())
	if err == nil {
		return nil, c
	}
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse error is %T, want *Errors: %v", err, err)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("Parse error does not match ErrInvalid")
	}
	return errs.Problems, nil
}
