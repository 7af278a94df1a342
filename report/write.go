package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Format is how a report is written.
type Format string

// The formats of a report.
const (
	CSV      Format = "csv"  // a header row, then a row per group
	JSON     Format = "json" // an array of objects, snake_case keys, rates 0..1 or null
	Markdown Format = "md"   // a table, rates as percentages
)

// ParseFormat is the format named s (ErrBadOptions when none is).
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case CSV, JSON, Markdown:
		return f, nil
	}
	return "", fmt.Errorf("%w: unknown format %q (csv, json, md)", ErrBadOptions, s)
}

// valueKind says how a column's values are written.
type valueKind int

const (
	text  valueKind = iota
	count           // an integer
	rate            // a fraction, nil when undefined
	secs            // seconds, nil when undefined
)

// column is one figure of a report: its snake_case name and its value.
type column struct {
	name string
	kind valueKind
	val  func(r *Row) any // string, int or *float64
}

var (
	colOffered  = column{"offered", count, func(r *Row) any { return r.Offered }}
	colAnswered = column{"answered", count, func(r *Row) any { return r.Answered }}
	colInSL     = column{"answered_in_sl", count, func(r *Row) any { return r.AnsweredInSL }}
	colASA      = column{"asa_s", secs, func(r *Row) any { return r.ASA() }}
	colAHT      = column{"aht_s", secs, func(r *Row) any { return r.AHT() }}
	colReached  = column{"callbacks_reached", count, func(r *Row) any { return r.CallbacksReached }}

	transferCols = []column{
		{"transfers", count, func(r *Row) any { return r.Transfers }},
		{"transfers_answered", count, func(r *Row) any { return r.TransfersAnswered }},
		{"transfers_answered_15s", count, func(r *Row) any { return r.TransfersInLevel }},
		{"transfer_15s_rate", rate, func(r *Row) any { return r.TransferRate() }},
	}
	surveyCols = []column{
		{"survey_1", count, func(r *Row) any { return r.Survey[0] }},
		{"survey_2", count, func(r *Row) any { return r.Survey[1] }},
		{"survey_3", count, func(r *Row) any { return r.Survey[2] }},
		{"survey_4", count, func(r *Row) any { return r.Survey[3] }},
		{"survey_5", count, func(r *Row) any { return r.Survey[4] }},
		{"graded", count, func(r *Row) any { return r.Graded() }},
		{"satisfaction_rate", rate, func(r *Row) any { return r.Satisfaction() }},
	}
)

// columns are the figures of a report grouped by by: the call figures by
// day, hour or queue; an agent's answered calls (offered is a queue's
// figure); an entry's transfers.
func columns(by By) []column {
	group := column{string(by), text, func(r *Row) any { return r.Group }}
	switch by {
	case ByAgent:
		cols := []column{group, colAnswered, colInSL, colASA, colAHT}
		cols = append(cols, transferCols...)
		cols = append(cols, colReached)
		return append(cols, surveyCols...)
	case ByEntry:
		cols := []column{group, {"kind", text, func(r *Row) any { return r.Kind }}}
		return append(cols, transferCols...)
	}
	cols := []column{group, colOffered, colAnswered,
		{"answer_rate", rate, func(r *Row) any { return r.AnswerRate() }},
		colInSL,
		{"service_level", rate, func(r *Row) any { return r.ServiceLevel() }},
		{"answered_24h", count, func(r *Row) any { return r.Answered24h }},
		{"answer_rate_24h", rate, func(r *Row) any { return r.AnswerRate24h() }},
		{"abandoned", count, func(r *Row) any { return r.Abandoned }},
		{"short_abandoned", count, func(r *Row) any { return r.ShortAbandoned }},
		{"overflow", count, func(r *Row) any { return r.Overflow }},
		colASA, colAHT,
	}
	cols = append(cols, transferCols...)
	cols = append(cols, column{"callbacks_kept", count, func(r *Row) any { return r.CallbacksKept }}, colReached)
	return append(cols, surveyCols...)
}

// Write writes rows, computed with grouping by, to w in format f.
func Write(w io.Writer, f Format, by By, rows []Row) error {
	cols := columns(by)
	switch f {
	case CSV:
		return writeCSV(w, cols, rows)
	case JSON:
		return writeJSON(w, cols, rows)
	case Markdown:
		return writeMarkdown(w, cols, rows)
	}
	_, err := ParseFormat(string(f))
	return err
}

// plain is a value as CSV writes it: rates as fractions to 4 places,
// seconds to the millisecond, "" when undefined.
func plain(c column, r *Row) string {
	switch v := c.val(r).(type) {
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case *float64:
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(round(*v, c.kind), 'f', -1, 64)
	}
	return ""
}

func round(v float64, k valueKind) float64 {
	scale := 1000.0 // seconds: milliseconds
	if k == rate {
		scale = 10000
	}
	return math.Round(v*scale) / scale
}

func writeCSV(w io.Writer, cols []column, rows []Row) error {
	cw := csv.NewWriter(w)
	rec := make([]string, len(cols))
	for i, c := range cols {
		rec[i] = c.name
	}
	cw.Write(rec)
	for i := range rows {
		for j, c := range cols {
			rec[j] = plain(c, &rows[i])
		}
		cw.Write(rec)
	}
	cw.Flush()
	return cw.Error()
}

// writeJSON writes an array of objects whose keys keep the columns' order.
func writeJSON(w io.Writer, cols []column, rows []Row) error {
	var b bytes.Buffer
	b.WriteString("[")
	for i := range rows {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n  {")
		for j, c := range cols {
			if j > 0 {
				b.WriteString(", ")
			}
			name, _ := json.Marshal(c.name)
			b.Write(name)
			b.WriteString(": ")
			switch v := c.val(&rows[i]).(type) {
			case string:
				s, _ := json.Marshal(v)
				b.Write(s)
			case *float64:
				if v == nil {
					b.WriteString("null")
					continue
				}
				b.WriteString(plain(c, &rows[i]))
			default:
				b.WriteString(plain(c, &rows[i]))
			}
		}
		b.WriteString("}")
	}
	b.WriteString("\n]\n")
	_, err := w.Write(b.Bytes())
	return err
}

// writeMarkdown writes a table: rates as percentages with one decimal,
// seconds with one decimal, "–" when undefined.
func writeMarkdown(w io.Writer, cols []column, rows []Row) error {
	var b strings.Builder
	line := func(cell func(c column) string) {
		b.WriteString("|")
		for _, c := range cols {
			b.WriteString(" " + cell(c) + " |")
		}
		b.WriteString("\n")
	}
	line(func(c column) string { return c.name })
	line(func(c column) string {
		if c.kind == text {
			return "---"
		}
		return "---:"
	})
	for i := range rows {
		r := &rows[i]
		line(func(c column) string {
			switch v := c.val(r).(type) {
			case string:
				return strings.ReplaceAll(v, "|", `\|`)
			case int:
				return strconv.Itoa(v)
			case *float64:
				switch {
				case v == nil:
					return "–"
				case c.kind == rate:
					return oneDecimal(*v*100) + "%"
				}
				return oneDecimal(*v)
			}
			return ""
		})
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// oneDecimal rounds half away from zero (56.25% is 56.3%), which
// strconv's round-half-even would not.
func oneDecimal(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', 1, 64)
}
