package records

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestTimeMarshal(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	tests := []struct {
		name string
		in   time.Time
		want string
	}{
		{"milliseconds in the centre's zone", time.Date(2026, 11, 23, 13, 31, 26, 123_000_000, shanghai), `"2026-11-23T13:31:26.123+08:00"`},
		{"whole second keeps three digits", time.Date(2026, 11, 23, 13, 31, 26, 0, shanghai), `"2026-11-23T13:31:26.000+08:00"`},
		{"sub-millisecond digits truncated", time.Date(2026, 11, 23, 13, 31, 26, 123_999_999, shanghai), `"2026-11-23T13:31:26.123+08:00"`},
		{"UTC written as Z", time.Date(2026, 11, 23, 5, 31, 26, 5_000_000, time.UTC), `"2026-11-23T05:31:26.005Z"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := json.Marshal(Time(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestTimeUnmarshal(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    time.Time
		wantErr bool
	}{
		{"milliseconds", `"2026-11-23T13:31:26.123+08:00"`, time.Date(2026, 11, 23, 5, 31, 26, 123_000_000, time.UTC), false},
		{"no fraction", `"2026-11-23T05:31:26Z"`, time.Date(2026, 11, 23, 5, 31, 26, 0, time.UTC), false},
		{"not a string", `12345`, time.Time{}, true},
		{"not RFC 3339", `"23/11/2026 13:31"`, time.Time{}, true},
		{"empty string", `""`, time.Time{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got Time
			err := json.Unmarshal([]byte(tc.in), &got)
			if tc.wantErr {
				if !errors.Is(err, ErrBadTime) {
					t.Fatalf("err = %v, want ErrBadTime", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Std().Equal(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTimeUnmarshalNullKeepsValue(t *testing.T) {
	want := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	got := Time(want)
	if err := got.UnmarshalJSON([]byte("null")); err != nil {
		t.Fatal(err)
	}
	if !got.Std().Equal(want) {
		t.Fatalf("null changed the time to %v", got)
	}
}
