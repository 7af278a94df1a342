package config

import "testing"

// TestCallbackNumbers: the default callback_numbers take mainland mobile
// and fixed numbers and nothing else; the pattern syntax's odd corners.
func TestCallbackNumbers(t *testing.T) {
	c := newConfig()
	for _, tc := range []struct {
		number string
		ok     bool
	}{
		{"13800138000", true},
		{"19912345678", true},
		{"12345678901", false}, // 12x is not a mobile range
		{"1380013800", false},  // 10 digits
		{"138001380001", false},
		{"01012345678", true},  // Beijing, 8-digit local
		{"0755123456", true},   // 10 digits
		{"075512345678", true}, // 12 digits
		{"0012345678", false},  // international prefix
		{"00881234", false},    // satellite
		{"008613800138000", false},
		{"+8613800138000", false},
		{"anonymous", false},
		{"", false},
		{"12345", false},
		{"95598", false},
		{"0755123456789", false}, // 13 digits
	} {
		if got := c.CallbackNumber(tc.number); got != tc.ok {
			t.Errorf("%q: callable %v, want %v", tc.number, got, tc.ok)
		}
	}
	for _, tc := range []struct {
		pattern, number string
		ok              bool
	}{
		{"95598", "95598", true},
		{"95598", "955981", false},
		{"_9559!", "9559", true},
		{"_9559.", "9559", false},
		{"_9559.", "95591", true},
		{"_N1[135-7]", "215", true},
		{"_N1[135-7]", "114", false},
		{"_N1[135-7]", "118", false},
		{"_x", "7", true},
	} {
		p, why := compileNumberPattern(tc.pattern)
		if why != "" {
			t.Fatalf("%s: %s", tc.pattern, why)
		}
		if got := p.Match(tc.number); got != tc.ok {
			t.Errorf("%s ~ %q: %v, want %v", tc.pattern, tc.number, got, tc.ok)
		}
	}
}
