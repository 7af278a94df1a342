// Package report computes the figures a 12345 centre is judged by (GB/T
// 33358-2016: answer within 15 s, a 24-hour answer rate of 95% or more;
// abandons, speed of answer, handle time, the departments' 15 s transfer
// rate, callbacks, the callers' survey) from call records, and writes them
// as CSV, JSON or a Markdown table. docs/REPORTS.md defines every figure.
//
// It reads records (package records) and imports nothing else of hotline's;
// it runs offline, in `hotline report`, never in the engine.
package report

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hotline-cc/hotline/records"
)

// By is what a report groups by.
type By string

// The groupings of a report.
const (
	ByDay   By = "day"   // the day the call started, in Options.Loc
	ByHour  By = "hour"  // the date and hour the call started
	ByQueue By = "queue" // the record's queue
	ByAgent By = "agent" // the agent who answered
	ByEntry By = "entry" // the directory entry (or target) of each transfer
)

// Total is the group of the row that sums a report's groups.
const Total = "TOTAL"

// Errors of Compute and of the writers.
var (
	// ErrBadOptions: an unknown grouping or format, or a range that ends
	// before it starts.
	ErrBadOptions = errors.New("report: bad options")
	// ErrRecords: the records directory cannot be read.
	ErrRecords = errors.New("report: records")
)

// Options are a report's range, grouping and thresholds.
type Options struct {
	By       By
	From, To time.Time      // the first and last day, both inclusive (any time of the day)
	Loc      *time.Location // the centre's time zone: days and hours are read in it (nil: UTC)
	// ShortAbandon: an abandoned call that waited less is a short abandon.
	ShortAbandon time.Duration
	// ExcludeShort leaves short abandons out of the offered calls the
	// rates are taken of (the offered column still counts them).
	ExcludeShort bool
	// ServiceLevel, when not 0, replaces each record's
	// within_service_level (the queue's own service level) by wait_ms ≤
	// ServiceLevel.
	ServiceLevel time.Duration
	// TransferLevel: a transfer answered within it counts for the
	// departments' answer rate (15 s when 0).
	TransferLevel time.Duration
}

// AnswerWindow is how long after a call's first offer an answer to the same
// number counts for the 24-hour answer rate.
const AnswerWindow = 24 * time.Hour

// Row is one group's figures. Counts are of calls (records) except the
// Transfers… counts, which are of transfer attempts. Rates and averages
// are methods: nil when their denominator is 0.
type Row struct {
	Group string // the day, hour, queue, agent or entry; Total for the sum
	Kind  string // ByEntry: the entry's kind (department, emergency, …)

	Offered        int // inbound calls that reached a queue
	Rated          int // Offered, less short abandons with ExcludeShort
	Answered       int // offered calls an agent answered
	AnsweredInSL   int // answered within the service level
	Answered24h    int // rated calls whose number was answered within AnswerWindow
	Abandoned      int // offered calls the caller hung up on while queued
	ShortAbandoned int // abandoned within ShortAbandon
	Overflow       int // offered calls ended by the queue's overflow
	WaitMs         int64
	TalkMs         int64

	Transfers         int
	TransfersAnswered int
	TransfersInLevel  int // answered within TransferLevel

	CallbacksKept    int // offered calls that ended with their place kept
	CallbacksReached int // callbacks (line_mode callback) answered

	Survey [5]int // callers' grades 1..5 (index 0 is grade 1)
}

// AnswerRate is 接通率: answered ÷ rated offered calls.
func (r *Row) AnswerRate() *float64 { return ratio(r.Answered, r.Rated) }

// ServiceLevel is answered within the service level ÷ rated offered calls.
func (r *Row) ServiceLevel() *float64 { return ratio(r.AnsweredInSL, r.Rated) }

// AnswerRate24h is the 24-hour answer rate: Answered24h ÷ rated.
func (r *Row) AnswerRate24h() *float64 { return ratio(r.Answered24h, r.Rated) }

// ASA is the average speed of answer in seconds.
func (r *Row) ASA() *float64 { return seconds(r.WaitMs, r.Answered) }

// AHT is the average handle time (talk only) in seconds.
func (r *Row) AHT() *float64 { return seconds(r.TalkMs, r.Answered) }

// TransferRate is transfers answered within TransferLevel ÷ transfers.
func (r *Row) TransferRate() *float64 { return ratio(r.TransfersInLevel, r.Transfers) }

// Graded is the number of survey grades.
func (r *Row) Graded() int {
	n := 0
	for _, c := range r.Survey {
		n += c
	}
	return n
}

// Satisfaction is grades 1–3 (非常满意, 满意, 基本满意) ÷ graded.
func (r *Row) Satisfaction() *float64 {
	return ratio(r.Survey[0]+r.Survey[1]+r.Survey[2], r.Graded())
}

func ratio(n, d int) *float64 {
	if d == 0 {
		return nil
	}
	f := float64(n) / float64(d)
	return &f
}

func seconds(ms int64, n int) *float64 {
	if n == 0 {
		return nil
	}
	f := float64(ms) / float64(n) / 1000
	return &f
}

// Compute groups the records that started within opts' days and returns a
// row per group (sorted by group) and a Total row last. recs may hold
// several versions of a call (the highest is kept) and the records of the
// days after the range (for the 24-hour answer rate). It does not modify
// recs.
func Compute(recs []records.Record, opts Options) ([]Row, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	loc := opts.location()
	y, m, d := opts.From.In(loc).Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, loc)
	y, m, d = opts.To.In(loc).Date()
	to := time.Date(y, m, d+1, 0, 0, 0, 0, loc)

	calls := latest(recs)
	answers := answersByNumber(calls)
	groups := map[string]*Row{}
	total := &Row{Group: Total}
	for _, r := range calls {
		if s := r.StartedAt.Std(); s.Before(from) || !s.Before(to) {
			continue
		}
		if opts.By == ByEntry {
			addTransfers(r, groups, total, opts)
			continue
		}
		key, ok := opts.groupOf(r, loc)
		if !ok {
			continue
		}
		g := groups[key]
		if g == nil {
			g = &Row{Group: key}
			groups[key] = g
		}
		f := opts.facts(r, answers)
		g.add(r, f, opts)
		total.add(r, f, opts)
	}
	rows := make([]Row, 0, len(groups)+1)
	for _, g := range groups {
		rows = append(rows, *g)
	}
	slices.SortFunc(rows, func(a, b Row) int { return cmp.Compare(a.Group, b.Group) })
	return append(rows, *total), nil
}

// Validate checks the grouping and the range (ErrBadOptions).
func (o *Options) Validate() error {
	switch o.By {
	case ByDay, ByHour, ByQueue, ByAgent, ByEntry:
	default:
		return fmt.Errorf("%w: unknown grouping %q (day, hour, queue, agent, entry)", ErrBadOptions, o.By)
	}
	if o.From.IsZero() || o.To.IsZero() {
		return fmt.Errorf("%w: the range needs a first and a last day", ErrBadOptions)
	}
	f, t := o.From.In(o.location()), o.To.In(o.location())
	if f.Format(time.DateOnly) > t.Format(time.DateOnly) {
		return fmt.Errorf("%w: from %s is after to %s", ErrBadOptions, f.Format(time.DateOnly), t.Format(time.DateOnly))
	}
	return nil
}

func (o *Options) location() *time.Location {
	if o.Loc == nil {
		return time.UTC
	}
	return o.Loc
}

// groupOf is the group of a call record; false: in no group (ByAgent, a
// call no agent answered).
func (o *Options) groupOf(r *records.Record, loc *time.Location) (string, bool) {
	switch o.By {
	case ByDay:
		return r.StartedAt.Std().In(loc).Format(time.DateOnly), true
	case ByHour:
		return r.StartedAt.Std().In(loc).Format("2006-01-02 15:00"), true
	case ByQueue:
		if r.Queue == "" {
			return "-", true
		}
		return r.Queue, true
	}
	return r.Agent, answered(r)
}
