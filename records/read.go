package records

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// ReadFile reads every record of a JSON-lines records file, for tests and
// tools. Blank lines are skipped; the first line that is not a record stops
// the read with ErrBadRecord and its line number.
func ReadFile(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFile, err)
	}
	defer f.Close()
	return readAll(bufio.NewReader(f), path)
}

func readAll(br *bufio.Reader, path string) ([]Record, error) {
	var out []Record
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return out, fmt.Errorf("%w: %s:%d: %w", ErrFile, path, lineNo, err)
		}
		if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 {
			var r Record
			if jerr := json.Unmarshal(trimmed, &r); jerr != nil {
				return out, fmt.Errorf("%w: %s:%d: %w", ErrBadRecord, path, lineNo, jerr)
			}
			out = append(out, r)
		}
		if err != nil {
			return out, nil
		}
	}
}
