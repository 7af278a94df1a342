package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/records"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/report")

const fixtures = "../testdata/report"

// The fixtures (testdata/report/*.jsonl), in Asia/Shanghai; queued_at is
// started_at + 2 s, answered_at is queued_at + wait_ms.
//
//	2026-11-01  pre  13800000003 answered 23:00 (before the range)
//	2026-11-02  c00  main 00:30 (written in UTC: 16:30Z the day before) answered by 1002, wait 7 s (in SL), talk 30 s
//	            c01  main 09:00 1001 wait 5 s (SL) talk 120 s, survey 1; water answered in 8 s
//	            c02  main 09:10 1002 wait 20 s talk 60 s, survey 4; water answered in 20 s
//	            c03  main 09:20 abandoned after 3 s (short); its number was answered only before (pre)
//	            c04  main 10:00 abandoned after 40 s; the number answered next day 08:00:14 (c11, within 24 h)
//	            c05  env  10:30 1001 wait 10 s (SL) talk 300 s, survey 3; 110 not answered (30 s), power answered in 15 s
//	            c06  env  11:00 overflow after 60 s; the number answered 25 h later (c16, outside 24 h)
//	            c07  main 14:00 callback kept; cb1 (14:30, line callback) answered by 1002, talk 90 s, survey 2
//	            c08  main 15:00 callback kept; cb2 (15:30) callback_failed
//	            c99  a malformed line (line 11)
//	            c09  main 16:00 1001 wait 8 s (SL) talk 100 s; version 2 (in the next file) adds survey 5
//	            i01  an internal call: counted nowhere
//	2026-11-03  c11  main 08:00 1002 wait 12 s (SL) talk 200 s, survey 1; 110 answered in 3 s
//	            c12  main 09:00 1001 wait 30 s talk 150 s, survey 2; water not answered (15 s)
//	            c13  env  09:30 abandoned after 4.999 s (short); the number answered at 13:00:04 (c14)
//	            c17  a parallel line's department answered in 4 s: never queued (no name: grouped by target)
//	            c16  main 12:00 1002 wait 6 s (SL) talk 80 s
//	            c14  env  13:00 1001 wait 2 s (SL) talk 60 s; power answered in 16 s
//	            c15  env  20:00 abandoned after 5 s (not short: under 5 s is); the number answered at 00:00:15 next day
//	2026-11-04  c18  13800000015 answered (after the range)
func loadFixtures(t *testing.T) []records.Record {
	t.Helper()
	recs, warns, err := Load(fixtures, day(t, "2026-11-02"), day(t, "2026-11-03"), shanghai(t))
	if err != nil {
		t.Fatal(err)
	}
	// 1 + 13 + 8 + 1 records (c09 twice), and the malformed line.
	if len(recs) != 23 {
		t.Errorf("records: got %d, want 23", len(recs))
	}
	if len(warns) != 1 || !strings.Contains(warns[0], filepath.Join(fixtures, "2026-11-02.jsonl")+":11: ") {
		t.Errorf("warnings: got %q, want one for 2026-11-02.jsonl:11", warns)
	}
	return recs
}

func shanghai(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func day(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.ParseInLocation(time.DateOnly, s, shanghai(t))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func options(t *testing.T, by By) Options {
	return Options{By: by, From: day(t, "2026-11-02"), To: day(t, "2026-11-03"), Loc: shanghai(t), ShortAbandon: 5 * time.Second}
}

func compute(t *testing.T, recs []records.Record, o Options) []Row {
	t.Helper()
	rows, err := Compute(recs, o)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func checkRows(t *testing.T, got, want []Row) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestReportByDay(t *testing.T) {
	rows := compute(t, loadFixtures(t), options(t, ByDay))
	checkRows(t, rows, []Row{{
		Group: "2026-11-02",
		// c00 c01 c02 c03 c04 c05 c06 c07 c08 c09 (not cb1, cb2: callbacks)
		Offered: 10, Rated: 10,
		Answered: 5, AnsweredInSL: 4, // c00 c01 c02 c05 c09; c02 waited 20 s
		Answered24h: 7,                                 // the 5, c04 (c11), c07 (cb1); not c03, c06, c08
		Abandoned:   2, ShortAbandoned: 1, Overflow: 1, // c03 c04, c03, c06
		WaitMs: 7000 + 5000 + 20000 + 10000 + 8000, TalkMs: 30000 + 120000 + 60000 + 300000 + 100000,
		Transfers: 4, TransfersAnswered: 3, TransfersInLevel: 2, // water 8 s, water 20 s, 110 no, power 15 s
		CallbacksKept: 2, CallbacksReached: 1, // c07 c08, cb1
		Survey: [5]int{1, 1, 1, 1, 1}, // c01 1, cb1 2, c05 3, c02 4, c09 5 (version 2)
	}, {
		Group:   "2026-11-03",
		Offered: 6, Rated: 6, // c11 c12 c13 c14 c15 c16 (not c17: never queued)
		Answered: 4, AnsweredInSL: 3, // c11 c12 c14 c16; c12 waited 30 s
		Answered24h: 6,                    // the 4, c13 (c14), c15 (c18 the next day)
		Abandoned:   2, ShortAbandoned: 1, // c13 c15, c13
		WaitMs: 12000 + 30000 + 2000 + 6000, TalkMs: 200000 + 150000 + 60000 + 80000,
		Transfers: 4, TransfersAnswered: 3, TransfersInLevel: 2, // 110 3 s, water no, power 16 s, c17's 4 s
		Survey: [5]int{1, 1, 0, 0, 0}, // c11 1, c12 2
	}, {
		Group: Total, Offered: 16, Rated: 16, Answered: 9, AnsweredInSL: 7, Answered24h: 13,
		Abandoned: 4, ShortAbandoned: 2, Overflow: 1, WaitMs: 100000, TalkMs: 1100000,
		Transfers: 8, TransfersAnswered: 6, TransfersInLevel: 4, CallbacksKept: 2, CallbacksReached: 1,
		Survey: [5]int{2, 2, 1, 1, 1},
	}})
	tot := rows[2]
	checkRate(t, "answer rate", tot.AnswerRate(), 9.0/16)      // 0.5625
	checkRate(t, "service level", tot.ServiceLevel(), 7.0/16)  // 0.4375
	checkRate(t, "24-hour rate", tot.AnswerRate24h(), 13.0/16) // 0.8125
	checkRate(t, "ASA", tot.ASA(), 100.0/9)                    // 11.111 s
	checkRate(t, "AHT", tot.AHT(), 1100.0/9)                   // 122.222 s
	checkRate(t, "transfers", tot.TransferRate(), 4.0/8)       // 0.5
	checkRate(t, "satisfaction", tot.Satisfaction(), 5.0/7)    // grades 1-3: 2+2+1 of 7
}

func checkRate(t *testing.T, what string, got *float64, want float64) {
	t.Helper()
	if got == nil || *got-want > 1e-9 || want-*got > 1e-9 {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

func TestReportByHour(t *testing.T) {
	rows := compute(t, loadFixtures(t), options(t, ByHour))
	// 2026-11-02: 00 09 10 11 14 15 16; 2026-11-03: 08 09 10 12 13 20; TOTAL.
	if len(rows) != 14 {
		t.Fatalf("got %d rows, want 14: %+v", len(rows), rows)
	}
	checkRows(t, rows[:2], []Row{{
		Group:   "2026-11-02 00:00", // c00, started 16:30Z the day before
		Offered: 1, Rated: 1, Answered: 1, AnsweredInSL: 1, Answered24h: 1, WaitMs: 7000, TalkMs: 30000,
	}, {
		Group:   "2026-11-02 09:00", // c01 c02 c03
		Offered: 3, Rated: 3, Answered: 2, AnsweredInSL: 1, Answered24h: 2, Abandoned: 1, ShortAbandoned: 1,
		WaitMs: 5000 + 20000, TalkMs: 120000 + 60000,
		Transfers: 2, TransfersAnswered: 2, TransfersInLevel: 1, Survey: [5]int{1, 0, 0, 1, 0},
	}})
	if r := rows[9]; r.Group != "2026-11-03 10:00" || r.Offered != 0 || r.Transfers != 1 || r.AnswerRate() != nil || r.ASA() != nil {
		t.Errorf("c17's hour: got %+v, want no offered call, its transfer, no rates", r)
	}
	if r := rows[13]; r.Group != Total || r.Offered != 16 || r.Answered24h != 13 {
		t.Errorf("total: got %+v", r)
	}
}

func TestReportByQueue(t *testing.T) {
	checkRows(t, compute(t, loadFixtures(t), options(t, ByQueue)), []Row{{
		Group:   "env",
		Offered: 5, Rated: 5, // c05 c06 c13 c14 c15
		Answered: 2, AnsweredInSL: 2, Answered24h: 4, // c05 c14; 24 h: not c06
		Abandoned: 2, ShortAbandoned: 1, Overflow: 1, // c13 c15, c13, c06
		WaitMs: 10000 + 2000, TalkMs: 300000 + 60000,
		Transfers: 3, TransfersAnswered: 2, TransfersInLevel: 1, // 110 no, power 15 s, power 16 s
		Survey: [5]int{0, 0, 1, 0, 0},
	}, {
		Group:   "main",
		Offered: 11, Rated: 11, // c00 c01 c02 c03 c04 c07 c08 c09 c11 c12 c16
		Answered: 7, AnsweredInSL: 5, // c00 c01 c02 c09 c11 c12 c16; not c02, c12
		Answered24h: 9, // the 7, c04, c07; not c03, c08
		Abandoned:   2, ShortAbandoned: 1,
		WaitMs: 7000 + 5000 + 20000 + 8000 + 12000 + 30000 + 6000, TalkMs: 30000 + 120000 + 60000 + 100000 + 200000 + 150000 + 80000,
		Transfers: 5, TransfersAnswered: 4, TransfersInLevel: 3, // water 8 s, water 20 s, 110 3 s, water no, c17 4 s
		CallbacksKept: 2, CallbacksReached: 1,
		Survey: [5]int{2, 2, 0, 1, 1}, // c01 1, c11 1, cb1 2, c12 2, c02 4, c09 5
	}, {
		Group: Total, Offered: 16, Rated: 16, Answered: 9, AnsweredInSL: 7, Answered24h: 13,
		Abandoned: 4, ShortAbandoned: 2, Overflow: 1, WaitMs: 100000, TalkMs: 1100000,
		Transfers: 8, TransfersAnswered: 6, TransfersInLevel: 4, CallbacksKept: 2, CallbacksReached: 1,
		Survey: [5]int{2, 2, 1, 1, 1},
	}})
}

func TestReportByAgent(t *testing.T) {
	checkRows(t, compute(t, loadFixtures(t), options(t, ByAgent)), []Row{{
		Group:   "1001", // c01 c05 c09 c12 c14
		Offered: 5, Rated: 5, Answered: 5, AnsweredInSL: 4, Answered24h: 5,
		WaitMs: 5000 + 10000 + 8000 + 30000 + 2000, TalkMs: 120000 + 300000 + 100000 + 150000 + 60000,
		Transfers: 5, TransfersAnswered: 3, TransfersInLevel: 2, // water 8 s, 110 no, power 15 s, water no, power 16 s
		Survey: [5]int{1, 1, 1, 0, 1}, // c01 1, c12 2, c05 3, c09 5
	}, {
		Group:   "1002", // c00 c02 c11 c16, and the callback cb1
		Offered: 4, Rated: 4, Answered: 4, AnsweredInSL: 3, Answered24h: 4,
		WaitMs: 7000 + 20000 + 12000 + 6000, TalkMs: 30000 + 60000 + 200000 + 80000,
		Transfers: 2, TransfersAnswered: 2, TransfersInLevel: 1, // water 20 s, 110 3 s
		CallbacksReached: 1,
		Survey:           [5]int{1, 1, 0, 1, 0}, // c11 1, cb1 2, c02 4
	}, {
		Group: Total, Offered: 9, Rated: 9, Answered: 9, AnsweredInSL: 7, Answered24h: 9,
		WaitMs: 100000, TalkMs: 1100000, Transfers: 7, TransfersAnswered: 5, TransfersInLevel: 3,
		CallbacksReached: 1, Survey: [5]int{2, 2, 1, 1, 1},
	}})
}

func TestReportByEntry(t *testing.T) {
	checkRows(t, compute(t, loadFixtures(t), options(t, ByEntry)), []Row{
		{Group: "110", Kind: "emergency", Transfers: 2, TransfersAnswered: 1, TransfersInLevel: 1},    // c05 no, c11 3 s
		{Group: "power", Kind: "department", Transfers: 2, TransfersAnswered: 2, TransfersInLevel: 1}, // 15 s, 16 s
		{Group: "sip:8001@dept.example", Transfers: 1, TransfersAnswered: 1, TransfersInLevel: 1},     // c17 4 s
		{Group: "water", Kind: "department", Transfers: 3, TransfersAnswered: 2, TransfersInLevel: 1}, // 8 s, 20 s, no
		{Group: Total, Transfers: 8, TransfersAnswered: 6, TransfersInLevel: 4},
	})
}

// TestReportKnobs: short abandons left out of the rates, a service level
// and a transfer level of 10 s, no short-abandon threshold.
func TestReportKnobs(t *testing.T) {
	recs := loadFixtures(t)
	o := options(t, ByDay)
	o.ExcludeShort = true
	rows := compute(t, recs, o)
	// Day 1 without c03: 9 rated, 24 h 7 (c03 was not); day 2 without
	// c13: 5 rated, 24 h 5.
	if r := rows[0]; r.Offered != 10 || r.Rated != 9 || r.Answered24h != 7 || r.ShortAbandoned != 1 {
		t.Errorf("day 1 without short abandons: %+v", r)
	}
	if r := rows[2]; r.Rated != 14 || r.Answered24h != 12 {
		t.Errorf("total without short abandons: %+v", r)
	}
	checkRate(t, "answer rate without short abandons", rows[2].AnswerRate(), 9.0/14)

	o = options(t, ByDay)
	o.ServiceLevel, o.TransferLevel = 10*time.Second, 10*time.Second
	o.ShortAbandon = 0
	tot := compute(t, recs, o)[2]
	// Waits ≤ 10 s: c00 7, c01 5, c05 10, c09 8, c14 2, c16 6 (not c02 20,
	// c11 12, c12 30). Transfers answered ≤ 10 s: water 8, 110 3, c17 4.
	if tot.AnsweredInSL != 6 || tot.TransfersInLevel != 3 || tot.ShortAbandoned != 0 {
		t.Errorf("10 s levels: got %+v", tot)
	}
}

// TestReportVersions: the highest version of a call counts, wherever it
// is read.
func TestReportVersions(t *testing.T) {
	at := records.Time(day(t, "2026-11-02").Add(9 * time.Hour))
	one, five := 1, 5
	v := func(n int, score *int) records.Record {
		return records.Record{CallID: "x", Version: n, StartedAt: at, QueuedAt: &at, SurveyScore: score}
	}
	for _, recs := range [][]records.Record{{v(1, &one), v(2, &five)}, {v(2, &five), v(1, &one)}} {
		rows := compute(t, recs, options(t, ByDay))
		if r := rows[0]; r.Offered != 1 || r.Survey != [5]int{0, 0, 0, 0, 1} {
			t.Errorf("versions %d then %d: got %+v, want one call graded 5", recs[0].Version, recs[1].Version, r)
		}
	}
}

func TestReportBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(o *Options)
		want string
	}{
		{"unknown grouping", func(o *Options) { o.By = "week" }, `unknown grouping "week"`},
		{"from after to", func(o *Options) { o.From, o.To = o.To, o.From }, "from 2026-11-03 is after to 2026-11-02"},
		{"no range", func(o *Options) { o.From = time.Time{} }, "needs a first and a last day"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := options(t, ByDay)
			tc.edit(&o)
			_, err := Compute(nil, o)
			if !errors.Is(err, ErrBadOptions) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want ErrBadOptions with %q", err, tc.want)
			}
		})
	}
	if err := Write(&bytes.Buffer{}, "xml", ByDay, nil); !errors.Is(err, ErrBadOptions) {
		t.Errorf("format xml: got %v, want ErrBadOptions", err)
	}
	if _, _, err := Load(filepath.Join(t.TempDir(), "none"), time.Now(), time.Now(), time.UTC); !errors.Is(err, ErrRecords) {
		t.Errorf("missing directory: got %v, want ErrRecords", err)
	}
}

// TestReportLoadRange: the files of the day before the range to two days
// after it are read.
func TestReportLoadRange(t *testing.T) {
	recs, _, err := Load(fixtures, day(t, "2026-11-03"), day(t, "2026-11-03"), shanghai(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 22 { // all but 2026-11-01.jsonl's one
		t.Errorf("got %d records, want 22", len(recs))
	}
}

// TestReportFormats compares each grouping in each format with the
// golden files (go test -update rewrites them; read them before
// committing) and checks the JSON's numbers and nulls.
func TestReportFormats(t *testing.T) {
	recs := loadFixtures(t)
	for _, by := range []By{ByDay, ByHour, ByQueue, ByAgent, ByEntry} {
		rows := compute(t, recs, options(t, by))
		for _, f := range []Format{CSV, JSON, Markdown} {
			var b bytes.Buffer
			if err := Write(&b, f, by, rows); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join(fixtures, "by-"+string(by)+"."+string(f))
			if *update {
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if b.String() != string(want) {
				t.Errorf("%s: got\n%s\nwant\n%s", golden, b.String(), want)
			}
		}
	}

	var b bytes.Buffer
	if err := Write(&b, JSON, ByHour, compute(t, recs, options(t, ByHour))); err != nil {
		t.Fatal(err)
	}
	var objs []map[string]any
	if err := json.Unmarshal(b.Bytes(), &objs); err != nil {
		t.Fatalf("%v:\n%s", err, b.String())
	}
	c17, tot := objs[9], objs[13]
	if c17["hour"] != "2026-11-03 10:00" || c17["answer_rate"] != nil || c17["asa_s"] != nil || c17["transfer_15s_rate"] != 1.0 {
		t.Errorf("c17's hour: %v", c17)
	}
	for k, want := range map[string]any{
		"hour": Total, "offered": 16.0, "answered": 9.0, "answer_rate": 0.5625, "service_level": 0.4375,
		"answer_rate_24h": 0.8125, "asa_s": 11.111, "aht_s": 122.222, "transfer_15s_rate": 0.5,
		"satisfaction_rate": 0.7143, "survey_5": 1.0, "short_abandoned": 2.0,
	} {
		if tot[k] != want {
			t.Errorf("total %s: got %v, want %v", k, tot[k], want)
		}
	}
}
