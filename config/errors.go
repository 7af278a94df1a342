package config

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinels. A refused file is an *Errors, which matches ErrInvalid with
// errors.Is; a file that cannot be read wraps ErrRead.
var (
	ErrInvalid = errors.New("config: invalid")
	ErrRead    = errors.New("config: cannot read")
	// ErrNotInDirectory: what an agent keyed is no entry of the directory.
	ErrNotInDirectory = errors.New("config: not in the directory")
)

// Problem is one thing wrong with a file. Line is 1-based; 0 when the problem
// is not tied to a line.
type Problem struct {
	File string
	Line int
	Msg  string
}

// String formats the problem as FILE:LINE: message.
func (p Problem) String() string {
	if p.Line <= 0 {
		return p.File + ": " + p.Msg
	}
	return p.File + ":" + strconv.Itoa(p.Line) + ": " + p.Msg
}

// Errors is every problem found in a file, in line order.
type Errors struct{ Problems []Problem }

// Error returns one "FILE:LINE: message" per line.
func (e *Errors) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Is makes errors.Is(err, ErrInvalid) true for *Errors.
func (e *Errors) Is(target error) bool { return target == ErrInvalid }
