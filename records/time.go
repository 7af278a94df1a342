package records

import (
	"bytes"
	"fmt"
	"time"
)

// timeLayout is RFC 3339 with exactly three fractional digits (milliseconds),
// e.g. "2026-11-23T13:31:26.123+08:00"; UTC is written with "Z".
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// Time is an instant in a call record. It marshals as RFC 3339 with
// milliseconds in the time's own zone (sub-millisecond digits are truncated)
// and unmarshals any RFC 3339 time.
type Time time.Time

// At returns a pointer to t as a record Time, for the optional fields
// (OfferedAt, AnsweredAt).
func At(t time.Time) *Time {
	rt := Time(t)
	return &rt
}

// Std returns t as a time.Time.
func (t Time) Std() time.Time { return time.Time(t) }

// String formats t as it appears in a record.
func (t Time) String() string { return time.Time(t).Format(timeLayout) }

// MarshalJSON writes t as a quoted RFC 3339 string with milliseconds.
func (t Time) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(timeLayout)+2)
	b = append(b, '"')
	b = time.Time(t).AppendFormat(b, timeLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON reads a quoted RFC 3339 string; JSON null leaves t unchanged.
func (t *Time) UnmarshalJSON(data []byte) error {
	if bytes.Equal(data, []byte("null")) {
		return nil
	}
	if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' {
		return fmt.Errorf("%w: %s", ErrBadTime, data)
	}
	parsed, err := time.Parse(time.RFC3339Nano, string(data[1:len(data)-1]))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadTime, err)
	}
	*t = Time(parsed)
	return nil
}
