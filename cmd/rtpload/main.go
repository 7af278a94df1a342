// Command rtpload plays the callers and the seats of many bridged calls'
// media on loopback, for load runs by hand (make bench drives the same
// generator from cmd/hotline's bench tests). Point the callers' SDP offers
// (e.g. SIPp testdata/sipp/bench_uac.xml -set rtp_port PORT) at the caller
// address it prints and the seats' SDP answers (bench_uas.xml) at the seat
// address; it prints what came through the relay each second.
//
//	rtpload -streams 2000 -pt 8 -duration 60s
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hotline-cc/hotline/internal/rtpload"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("rtpload", flag.ContinueOnError)
	fl.SetOutput(stderr)
	streams := fl.Int("streams", 100, "calls per side at most")
	pt := fl.Uint("pt", 8, "payload type: 0 PCMU, 8 PCMA")
	duration := fl.Duration("duration", time.Minute, "how long to send")
	drain := fl.Duration("drain", 500*time.Millisecond, "how long to count in-flight frames after sending stops")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	g, err := rtpload.New(rtpload.Config{MaxStreams: *streams, PayloadType: uint8(*pt)})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	defer g.Close()
	fmt.Fprintf(stdout, "caller media at %v, seat media at %v\n", g.CallerAddr(), g.SeatAddr())
	g.Start()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	every := time.NewTicker(time.Second)
	defer every.Stop()
	end := time.NewTimer(*duration)
	defer end.Stop()
	for done := false; !done; {
		select {
		case <-every.C:
			fmt.Fprintln(stdout, g.Report())
		case <-end.C:
			done = true
		case <-sig:
			done = true
		}
	}
	g.StopSending()
	time.Sleep(*drain) // in-flight frames: there is no event that says the relay is empty
	fmt.Fprintln(stdout, "final:", g.Report())
	return 0
}
