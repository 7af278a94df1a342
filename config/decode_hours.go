package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// dayNames are the weekday keys of an hours set, indexed by time.Weekday.
var dayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// dayKey is the key of an hours set for public holidays.
const dayKey = "holiday"

// hours decodes the hours section: name -> {day or day range: [ranges]}.
func (p *parser) hours(path string, n *yaml.Node) {
	p.named(path, n, func(name, hp string, k, v *yaml.Node) {
		if p.checkName(hp, k, name, nameChars, "made of a-z, 0-9, - and _") {
			p.c.Hours[name] = p.hoursSet(hp, name, v)
		}
	})
}

func (p *parser) hoursSet(path, name string, n *yaml.Node) Hours {
	h := Hours{Name: name}
	var set [8]string // which key set each day (index 7: holiday)
	p.named(path, n, func(key, kp string, k, v *yaml.Node) {
		days, ok := parseDays(key)
		if !ok {
			p.problem(k.Line, kp, "%q is not a day (mon..sun), a range of days (mon-fri) or %s", key, dayKey)
			return
		}
		ranges := p.timeRanges(kp, v)
		for _, d := range days {
			if set[d] != "" {
				p.problem(k.Line, kp, "%s is already given by %s", dayLabel(d), set[d])
				return
			}
		}
		for _, d := range days {
			set[d] = key
			if d == 7 {
				h.Holiday = ranges
			} else {
				h.Week[d] = ranges
			}
		}
	})
	return h
}

func dayLabel(d int) string {
	if d == 7 {
		return dayKey
	}
	return dayNames[d]
}

// parseDays reads "mon", "mon-fri" or "holiday" into day indexes (7 is the
// holiday); a range runs forward from Monday to Sunday.
func parseDays(key string) ([]int, bool) {
	if key == dayKey {
		return []int{7}, true
	}
	first, last, isRange := strings.Cut(key, "-")
	if !isRange {
		last = first
	}
	order := func(s string) int { // Monday 0 .. Sunday 6
		i := slices.Index(dayNames[:], s)
		if i < 0 {
			return -1
		}
		return (i + 6) % 7
	}
	a, b := order(first), order(last)
	if a < 0 || b < 0 || a > b {
		return nil, false
	}
	var out []int
	for i := a; i <= b; i++ {
		out = append(out, (i+1)%7)
	}
	return out, true
}

// timeRanges decodes ["08:30-12:00", ...]: sorted, not overlapping.
func (p *parser) timeRanges(path string, n *yaml.Node) []TimeRange {
	out := []TimeRange{}
	p.list(path, n, func(_ int, ip string, v *yaml.Node) {
		s, ok := p.str(ip, v)
		if !ok {
			return
		}
		r, err := parseTimeRange(s)
		if err != "" {
			p.problem(v.Line, ip, "%q %s", s, err)
			return
		}
		for _, o := range out {
			if r.From < o.To && o.From < r.To {
				p.problem(v.Line, ip, "%q overlaps %s", s, rangeText(o))
				return
			}
		}
		out = append(out, r)
	})
	slices.SortFunc(out, func(a, b TimeRange) int { return int(a.From - b.From) })
	return out
}

func rangeText(r TimeRange) string { return clock(r.From) + "-" + clock(r.To) }

func clock(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d.Hours()), int(d.Minutes())%60)
}

// parseTimeRange reads HH:MM-HH:MM; it returns a message when invalid.
func parseTimeRange(s string) (TimeRange, string) {
	a, b, ok := strings.Cut(s, "-")
	from, ok1 := parseClock(a, false)
	to, ok2 := parseClock(b, true)
	switch {
	case !ok || !ok1 || !ok2:
		return TimeRange{}, "is not a time range HH:MM-HH:MM such as 08:30-12:00"
	case from >= to:
		return TimeRange{}, "ends before it starts (a range may not cross midnight: split it)"
	}
	return TimeRange{from, to}, ""
}

// parseClock reads HH:MM (24:00 only as an end).
func parseClock(s string, end bool) (time.Duration, bool) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || len(h) != 2 || len(m) != 2 || err1 != nil || err2 != nil || mm > 59 || hh > 24 ||
		(hh == 24 && (mm != 0 || !end)) {
		return 0, false
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, true
}

// calendar decodes {holidays: [dates or FROM..TO], workdays: [dates or {date, as}]}.
func (p *parser) calendar(path string, n *yaml.Node) {
	cal := &p.c.Calendar
	p.mapping(path, n, fields{
		"holidays": func(path string, v *yaml.Node) {
			p.list(path, v, func(_ int, ip string, v *yaml.Node) {
				if r, ok := p.dateRange(ip, v); ok {
					cal.Holidays = append(cal.Holidays, r)
					p.holidayPaths = append(p.holidayPaths, ip)
				}
			})
		},
		"workdays": func(path string, v *yaml.Node) {
			p.list(path, v, func(_ int, ip string, v *yaml.Node) {
				if w, ok := p.workday(ip, v); ok {
					cal.Workdays = append(cal.Workdays, w)
					p.workdayPaths = append(p.workdayPaths, ip)
				}
			})
		},
	})
}

// maxHolidayDays bounds one holiday range (a typo in a year would
// otherwise close a line for years).
const maxHolidayDays = 31

func (p *parser) dateRange(path string, v *yaml.Node) (DateRange, bool) {
	s, ok := p.scalar(path, v, "a date YYYY-MM-DD or a range YYYY-MM-DD..YYYY-MM-DD", "!!str", "!!timestamp")
	if !ok {
		return DateRange{}, false
	}
	a, b, isRange := strings.Cut(s, "..")
	if !isRange {
		b = a
	}
	from, ok1 := parseDate(a)
	to, ok2 := parseDate(b)
	switch {
	case !ok1 || !ok2:
		p.problem(v.Line, path, "%q is not a date YYYY-MM-DD or a range YYYY-MM-DD..YYYY-MM-DD", s)
	case to.Compare(from) < 0:
		p.problem(v.Line, path, "%q ends before it starts", s)
	case to.time().Sub(from.time()) >= maxHolidayDays*24*time.Hour:
		p.problem(v.Line, path, "%q is longer than %d days", s, maxHolidayDays)
	default:
		return DateRange{from, to}, true
	}
	return DateRange{}, false
}

func parseDate(s string) (Date, bool) {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		return Date{}, false
	}
	return DateOf(t), true
}

// workday decodes a make-up working day: a date (worked as a Monday) or
// {date, as: WEEKDAY}.
func (p *parser) workday(path string, v *yaml.Node) (Workday, bool) {
	w := Workday{As: time.Monday}
	var text string
	if v.Kind == yaml.MappingNode {
		seen := p.mapping(path, v, fields{
			"date": func(path string, v *yaml.Node) {
				text, _ = p.scalar(path, v, "a date YYYY-MM-DD", "!!str", "!!timestamp")
			},
			"as": func(path string, v *yaml.Node) {
				s, ok := p.str(path, v)
				i := slices.Index(dayNames[:], s)
				if ok && i < 0 {
					p.problem(v.Line, path, "%q is not a weekday (mon..sun)", s)
					return
				}
				w.As = time.Weekday(max(i, 0))
			},
		})
		p.require(path, v, seen, "date")
	} else {
		text, _ = p.scalar(path, v, "a date YYYY-MM-DD or {date, as}", "!!str", "!!timestamp")
	}
	if text == "" {
		return w, false
	}
	d, ok := parseDate(text)
	if !ok {
		p.problem(v.Line, path, "%q is not a date YYYY-MM-DD", text)
		return w, false
	}
	w.Date = d
	return w, true
}
