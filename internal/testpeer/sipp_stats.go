package testpeer

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// collectResult reads the trace files SIPp left in dir.
func collectResult(dir string, code int, stderr string, d time.Duration) SippResult {
	r := SippResult{
		ExitCode: code, Stderr: stderr, Dir: dir, Duration: d,
		Log:      readText(filepath.Join(dir, "log.log")),
		Errors:   readText(filepath.Join(dir, "errors.log")),
		Messages: readText(filepath.Join(dir, "messages.log")),
		Screen:   readText(filepath.Join(dir, "screen.log")),
	}
	r.Counters = parseStatCSV(readText(filepath.Join(dir, "stat.csv")))
	r.Successful = r.Counters["SuccessfulCall"]
	r.Failed = r.Counters["FailedCall"]
	return r
}

func readText(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(b)
}

// parseStatCSV returns the cumulative "(C)" counters of the last row of a
// SIPp -trace_stat file (';'-separated, first line the column names).
func parseStatCSV(text string) map[string]int {
	out := map[string]int{}
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) < 2 {
		return out
	}
	names := strings.Split(lines[0], ";")
	values := strings.Split(lines[len(lines)-1], ";")
	for i, name := range names {
		base, ok := strings.CutSuffix(name, "(C)")
		if !ok || i >= len(values) {
			continue
		}
		if n, err := strconv.Atoi(strings.TrimSpace(values[i])); err == nil {
			out[base] = n
		}
	}
	return out
}

// FinalStatusCodes reads a SIPp -trace_msg file and returns, for each call
// (Call-ID) in order of first appearance, the last final status code (>= 200)
// it received for an INVITE. Calls that got none are left out.
func FinalStatusCodes(trace string) []int {
	var order []string
	codes := map[string]int{}
	for _, msg := range receivedMessages(trace) {
		code, callID, method := responseSummary(msg)
		if code < 200 || method != "INVITE" || callID == "" {
			continue
		}
		if _, seen := codes[callID]; !seen {
			order = append(order, callID)
		}
		codes[callID] = code
	}
	out := make([]int, 0, len(order))
	for _, id := range order {
		out = append(out, codes[id])
	}
	return out
}

// receivedMessages splits a message trace into the bodies of received
// messages. SIPp separates entries by a line of dashes with a timestamp,
// followed by "... message received [N] bytes :".
func receivedMessages(trace string) []string {
	var out []string
	for _, entry := range strings.Split(trace, "\n-----------------------------------------------") {
		head, body, ok := strings.Cut(entry, "\n\n")
		if ok && strings.Contains(head, "message received") {
			out = append(out, body)
		}
	}
	return out
}

// responseSummary returns the status code, Call-ID and CSeq method of a
// response (code 0 for a request).
func responseSummary(msg string) (code int, callID, method string) {
	sc := bufio.NewScanner(strings.NewReader(msg))
	for first := true; sc.Scan(); first = false {
		line := strings.TrimRight(sc.Text(), "\r")
		if first {
			rest, ok := strings.CutPrefix(line, "SIP/2.0 ")
			if !ok || len(rest) < 3 {
				return 0, "", ""
			}
			code, _ = strconv.Atoi(rest[:3])
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "call-id", "i":
			callID = strings.TrimSpace(value)
		case "cseq":
			if f := strings.Fields(value); len(f) == 2 {
				method = f[1]
			}
		}
	}
	return code, callID, method
}
