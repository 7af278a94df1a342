package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/report"
)

// maxWarnings is how many malformed lines `hotline report` names; the rest
// are only counted.
const maxWarnings = 10

// reportCmd runs `hotline report`: the KPI report of the records files
// (docs/REPORTS.md). Bad flags, dates or an unreadable records directory
// exit 2; malformed lines are named on stderr and skipped.
func reportCmd(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("hotline report", flag.ContinueOnError)
	fl.SetOutput(stderr)
	cfgPath := fl.String("config", "", "centre config `FILE`: its data_dir and timezone (the flags win)")
	dataDir := fl.String("data", "./data", "data `DIR`: the records are DIR/records/*.jsonl")
	from := fl.String("from", "", "first day, YYYY-MM-DD (required)")
	to := fl.String("to", "", "last day, YYYY-MM-DD, inclusive (default: -from)")
	by := fl.String("by", "day", "group by day, hour, queue, agent or entry")
	format := fl.String("format", "csv", "csv, json or md")
	tz := fl.String("tz", "", "the centre's time `ZONE`, e.g. Asia/Shanghai (default: the config's, or the local zone)")
	var o report.Options
	fl.DurationVar(&o.ShortAbandon, "short-abandon", 5*time.Second, "an abandon after a shorter wait is a short abandon")
	fl.BoolVar(&o.ExcludeShort, "exclude-short", false, "leave short abandons out of the offered calls of the rates")
	fl.DurationVar(&o.ServiceLevel, "service-level", 0, "count answers within this wait (default 0: each queue's service level, as recorded)")
	fl.DurationVar(&o.TransferLevel, "transfer-level", 15*time.Second, "count transfers answered within this ring time")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "hotline report:", err)
		return 2
	}
	if fl.NArg() > 0 {
		return fail(fmt.Errorf("unexpected argument %q", fl.Arg(0)))
	}
	set := map[string]bool{}
	fl.Visit(func(f *flag.Flag) { set[f.Name] = true })
	o.Loc = time.Local
	if *cfgPath != "" {
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			return fail(err)
		}
		if !set["data"] && cfg.DataDir != "" {
			*dataDir = cfg.DataDir
		}
		if cfg.Location != nil {
			o.Loc = cfg.Location
		}
	}
	if *tz != "" {
		loc, err := time.LoadLocation(*tz)
		if err != nil {
			return fail(fmt.Errorf("bad -tz: %w", err))
		}
		o.Loc = loc
	}
	if *to == "" {
		*to = *from
	}
	var err error
	if o.From, err = parseDay("-from", *from, o.Loc); err != nil {
		return fail(err)
	}
	if o.To, err = parseDay("-to", *to, o.Loc); err != nil {
		return fail(err)
	}
	o.By = report.By(*by)
	if err := o.Validate(); err != nil {
		return fail(err)
	}
	f, err := report.ParseFormat(*format)
	if err != nil {
		return fail(err)
	}
	recs, warnings, err := report.Load(filepath.Join(*dataDir, "records"), o.From, o.To, o.Loc)
	if err != nil {
		return fail(err)
	}
	rows, err := report.Compute(recs, o)
	if err != nil {
		return fail(err)
	}
	for i, w := range warnings {
		if i == maxWarnings {
			fmt.Fprintf(stderr, "hotline report: … and %d more\n", len(warnings)-maxWarnings)
			break
		}
		fmt.Fprintln(stderr, "hotline report: skipped", w)
	}
	if len(warnings) > 0 {
		fmt.Fprintf(stderr, "hotline report: warning: %d malformed lines skipped\n", len(warnings))
	}
	if err := report.Write(stdout, f, o.By, rows); err != nil {
		fmt.Fprintln(stderr, "hotline report:", err)
		return 1
	}
	return 0
}

func parseDay(name, s string, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("%s is required (YYYY-MM-DD)", name)
	}
	d, err := time.ParseInLocation(time.DateOnly, s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad %s %q: want YYYY-MM-DD", name, s)
	}
	return d, nil
}
