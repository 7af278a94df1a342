// Command hotline runs a 12345 contact centre: the SIP edge, media, calls,
// records and the supervisors' HTTP listener, on one centre's config.
//
//	hotline                       the embedded demo centre
//	hotline -config FILE          a centre from a YAML file
//	hotline check-config FILE     validate a file: FILE:LINE: message, exit 1 on any problem
//	hotline report -from DAY …    the KPI report of the call records (docs/REPORTS.md)
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"time"

	"github.com/hotline-cc/hotline/config"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "check-config" {
		return checkConfig(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "report" {
		return reportCmd(args[1:], stdout, stderr)
	}
	fl := flag.NewFlagSet("hotline", flag.ContinueOnError)
	fl.SetOutput(stderr)
	cfgPath := fl.String("config", "", "centre config `FILE` (default: the embedded demo centre)")
	dataDir := fl.String("data", "", "data `DIR` for call records (default: data_dir of the config, ./data)")
	level := fl.String("log-level", "info", "log level: debug, info, warn, error")
	logJSON := fl.Bool("log-json", false, "log as JSON lines instead of text")
	cpuProfile := fl.String("cpuprofile", "", "write a CPU profile to `FILE` until the engine exits (for benchmarks)")
	fakeNow := fl.String("now", "", "run the engine's clock from this RFC 3339 `TIME` (tests of business hours and holidays)")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "hotline: unexpected argument %q\n", fl.Arg(0))
		return 2
	}
	log, err := newLogger(stderr, *level, *logJSON)
	if err != nil {
		fmt.Fprintln(stderr, "hotline:", err)
		return 2
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "hotline:", err)
			return 1
		}
		defer stop()
	}
	now, err := clock(*fakeNow)
	if err != nil {
		fmt.Fprintln(stderr, "hotline:", err)
		return 2
	}
	if err := serve(cfg, *cfgPath, log, now); err != nil {
		log.Error("hotline stopped", "error", err)
		return 1
	}
	return 0
}

// startCPUProfile profiles the process into path; the returned function
// stops the profile and closes the file (on a clean exit, e.g. SIGTERM).
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// clock is time.Now, or with -now a clock that starts at the given instant
// and runs at the real rate.
func clock(from string) (func() time.Time, error) {
	if from == "" {
		return time.Now, nil
	}
	t0, err := time.Parse(time.RFC3339, from)
	if err != nil {
		return nil, fmt.Errorf("bad -now %q: %w", from, err)
	}
	start := time.Now()
	return func() time.Time { return t0.Add(time.Since(start)) }, nil
}

func checkConfig(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: hotline check-config FILE")
		return 2
	}
	if _, err := config.Load(args[0]); err != nil {
		fmt.Fprintln(stdout, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok\n", args[0])
	return 0
}

func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return demoConfig()
	}
	return config.Load(path)
}

func newLogger(w io.Writer, level string, asJSON bool) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, errors.New("bad -log-level " + level)
	}
	opts := &slog.HandlerOptions{Level: l}
	if asJSON {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}
