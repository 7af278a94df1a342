package ivr

import (
	"time"

	"github.com/hotline-cc/hotline/config"
)

// schedule is the calendar of one config.
type schedule struct{ cal config.Calendar }

// holiday reports whether d is a public holiday.
func (s schedule) holiday(d config.Date) bool {
	for _, r := range s.cal.Holidays {
		if d.Compare(r.From) >= 0 && d.Compare(r.To) <= 0 {
			return true
		}
	}
	return false
}

// workday returns the weekday whose hours a make-up working day (调休) uses.
func (s schedule) workday(d config.Date) (time.Weekday, bool) {
	for _, w := range s.cal.Workdays {
		if w.Date == d {
			return w.As, true
		}
	}
	return 0, false
}

// open reports whether h is open at t (in t's location): a make-up working
// day has the hours of its weekday, a holiday the holiday hours, any other
// day the hours of its day of the week.
func (s schedule) open(h *config.Hours, t time.Time) bool {
	d := config.DateOf(t)
	ranges := h.Week[t.Weekday()]
	if as, ok := s.workday(d); ok {
		ranges = h.Week[as]
	} else if s.holiday(d) {
		ranges = h.Holiday
	}
	hh, mm, ss := t.Clock()
	since := time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute + time.Duration(ss)*time.Second
	for _, r := range ranges {
		if since >= r.From && since < r.To {
			return true
		}
	}
	return false
}
