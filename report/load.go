package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/records"
)

// Slack days of the records files Load reads around a range: a day before
// (a writer in another time zone) and two after (the 24-hour answer rate
// looks at the calls of the day after the range; a call is filed on the
// day it ended).
const (
	daysBefore = 1
	daysAfter  = 2
)

// Load reads the records files of dir (DATA/records) for the days from..to
// in loc, with the slack days around them. A file whose name is not a date
// is read whatever its name. A line that is not a record is skipped and
// reported in warnings as FILE:LINE: error; only a directory or file that
// cannot be read is an error (ErrRecords).
func Load(dir string, from, to time.Time, loc *time.Location) (recs []records.Record, warnings []string, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrRecords, err)
	}
	first := from.In(loc).AddDate(0, 0, -daysBefore).Format(time.DateOnly)
	last := to.In(loc).AddDate(0, 0, daysAfter).Format(time.DateOnly)
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".jsonl")
		if e.IsDir() || !ok {
			continue
		}
		if _, perr := time.Parse(time.DateOnly, name); perr == nil && (name < first || name > last) {
			continue
		}
		names = append(names, e.Name())
	}
	slices.Sort(names)
	for _, name := range names {
		path := filepath.Join(dir, name)
		if recs, warnings, err = readLenient(path, recs, warnings); err != nil {
			return nil, warnings, err
		}
	}
	return recs, warnings, nil
}

// readLenient appends the records of path to recs, and a warning for each
// line that is not one.
func readLenient(path string, recs []records.Record, warnings []string) ([]records.Record, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return recs, warnings, fmt.Errorf("%w: %w", ErrRecords, err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return recs, warnings, fmt.Errorf("%w: %s:%d: %w", ErrRecords, path, lineNo, err)
		}
		if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 {
			var r records.Record
			switch jerr := json.Unmarshal(trimmed, &r); {
			case jerr != nil:
				warnings = append(warnings, fmt.Sprintf("%s:%d: %v", path, lineNo, jerr))
			case r.CallID == "":
				warnings = append(warnings, fmt.Sprintf("%s:%d: no call_id", path, lineNo))
			default:
				recs = append(recs, r)
			}
		}
		if err != nil {
			return recs, warnings, nil
		}
	}
}
