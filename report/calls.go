package report

import (
	"slices"
	"time"

	"github.com/hotline-cc/hotline/records"
)

// Line modes and end reasons the figures depend on (records' README).
const (
	lineCallback = "callback"
	endAbandoned = "abandoned"
	endCallback  = "callback"
)

// notPublic are the line modes of calls that are not the public's: a seat
// calling a seat, a feature code, a supervisor's monitoring. They count
// nowhere.
var notPublic = map[string]bool{"internal": true, "feature": true, "monitor": true}

// latest keeps the highest version of each call_id (the later of equal
// versions) and drops the calls that are not the public's.
func latest(recs []records.Record) []*records.Record {
	at := map[string]int{}
	var out []*records.Record
	for i := range recs {
		r := &recs[i]
		if j, ok := at[r.CallID]; ok {
			if r.Version >= out[j].Version {
				out[j] = r
			}
			continue
		}
		at[r.CallID] = len(out)
		out = append(out, r)
	}
	return slices.DeleteFunc(out, func(r *records.Record) bool { return notPublic[r.LineMode] })
}

// answered: an agent answered the call (or callback).
func answered(r *records.Record) bool { return r.AnsweredAt != nil && r.Agent != "" }

// offered: an inbound call that reached a queue. A callback is the
// centre's call out, counted apart (CallbacksReached).
func offered(r *records.Record) bool {
	return r.LineMode != lineCallback && (r.QueuedAt != nil || r.OfferedAt != nil)
}

// firstOffer is when an offered call reached its queue.
func firstOffer(r *records.Record) time.Time {
	if r.QueuedAt != nil {
		return r.QueuedAt.Std()
	}
	return r.OfferedAt.Std()
}

// answersByNumber is, per caller number, when each of its calls (inbound
// or callback) was answered by an agent, in order.
func answersByNumber(calls []*records.Record) map[string][]time.Time {
	out := map[string][]time.Time{}
	for _, r := range calls {
		if r.Caller != "" && answered(r) {
			out[r.Caller] = append(out[r.Caller], r.AnsweredAt.Std())
		}
	}
	for _, ts := range out {
		slices.SortFunc(ts, time.Time.Compare)
	}
	return out
}

// facts is what a call record contributes to a row, beyond its fields.
type facts struct {
	offered, rated, answered, inSL, answered24h, abandoned, short bool
}

func (o *Options) facts(r *records.Record, answers map[string][]time.Time) facts {
	f := facts{offered: offered(r)}
	if !f.offered {
		return f
	}
	f.answered = answered(r)
	f.abandoned = !f.answered && r.EndReason == endAbandoned
	f.short = f.abandoned && time.Duration(r.WaitMs)*time.Millisecond < o.ShortAbandon
	f.rated = !(f.short && o.ExcludeShort)
	if f.answered {
		f.inSL = r.WithinServiceLevel
		if o.ServiceLevel > 0 {
			f.inSL = time.Duration(r.WaitMs)*time.Millisecond <= o.ServiceLevel
		}
	}
	f.answered24h = f.rated && (f.answered || answeredWithin(answers[r.Caller], firstOffer(r)))
	return f
}

// answeredWithin: one of ts falls within AnswerWindow from t0.
func answeredWithin(ts []time.Time, t0 time.Time) bool {
	i, _ := slices.BinarySearchFunc(ts, t0, time.Time.Compare)
	return i < len(ts) && !ts[i].After(t0.Add(AnswerWindow))
}

// Add counts one call record into the row as Compute does, except the
// 24-hour answer rate, which needs the caller's later calls: here only
// the call itself counts towards it. For live figures.
func (g *Row) Add(r *records.Record, o Options) { g.add(r, o.facts(r, nil), o) }

// add counts call record r (with its facts f) into row g.
func (g *Row) add(r *records.Record, f facts, o Options) {
	if f.offered {
		g.Offered++
		if f.rated {
			g.Rated++
		}
	}
	if f.answered {
		g.Answered++
		g.WaitMs += r.WaitMs
		g.TalkMs += r.TalkMs
	}
	g.AnsweredInSL += b2i(f.inSL)
	g.Answered24h += b2i(f.answered24h)
	g.Abandoned += b2i(f.abandoned)
	g.ShortAbandoned += b2i(f.short)
	g.Overflow += b2i(f.offered && records.QueueOutcome(r) == records.OutcomeOverflow)
	g.CallbacksKept += b2i(f.offered && !f.answered && r.EndReason == endCallback)
	g.CallbacksReached += b2i(r.LineMode == lineCallback && answered(r))
	for i := range r.Transfers {
		g.addTransfer(&r.Transfers[i], o)
	}
	if s := r.SurveyScore; s != nil && *s >= 1 && *s <= 5 {
		g.Survey[*s-1]++
	}
}

func (g *Row) addTransfer(t *records.Transfer, o Options) {
	level := o.TransferLevel
	if level == 0 {
		level = 15 * time.Second
	}
	g.Transfers++
	g.TransfersAnswered += b2i(t.Answered)
	g.TransfersInLevel += b2i(t.Answered && time.Duration(t.RingMs)*time.Millisecond <= level)
}

// AddTransfer counts one transfer into the row (its 15 s rate), as the
// entry grouping does.
func (g *Row) AddTransfer(t *records.Transfer, o Options) { g.addTransfer(t, o) }

// addTransfers counts r's transfers into the groups of their entries
// (ByEntry): the entry's name, or the target called when it has none (a
// parallel line's department leg).
func addTransfers(r *records.Record, groups map[string]*Row, total *Row, o Options) {
	for i := range r.Transfers {
		t := &r.Transfers[i]
		key := t.Name
		if key == "" {
			key = t.Target
		}
		g := groups[key]
		if g == nil {
			g = &Row{Group: key}
			groups[key] = g
		}
		if t.Kind != "" {
			g.Kind = t.Kind
		}
		g.addTransfer(t, o)
		total.addTransfer(t, o)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
