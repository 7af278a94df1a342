package config

import (
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// NumberPattern is one entry of callback_numbers, in Asterisk's dialplan
// pattern syntax: a pattern starts with "_" and then X is any digit, Z 1-9,
// N 2-9, [13-5] one digit of a set (ranges allowed), "." one or more
// digits and "!" zero or more; without "_" the entry is one exact number.
// It matches a whole number (digits only). Compiled once, at load.
type NumberPattern struct {
	Text string
	re   *regexp.Regexp
}

// Match reports whether number (the caller's From user part) matches the
// whole pattern. Any goroutine.
func (p NumberPattern) Match(number string) bool { return p.re != nil && p.re.MatchString(number) }

// DefaultCallbackNumbers are the callback_numbers of a file that gives
// none: mainland China mobile numbers (11 digits, 13x-19x) and fixed
// numbers dialled with their area code (0, then a 2- or 3-digit area code
// not starting with 0, then a 7- or 8-digit local number: 10 to 12 digits).
// No international prefix (00, +), no short or service numbers, no
// "anonymous".
var DefaultCallbackNumbers = []string{"_1[3-9]XXXXXXXXX", "_0ZXXXXXXXX", "_0ZXXXXXXXXX", "_0ZXXXXXXXXXX"}

// CallbackNumber reports whether a callback may dial number: it matches one
// of the centre's callback_numbers.
func (c *Config) CallbackNumber(number string) bool {
	return slices.ContainsFunc(c.CallbackNumbers, func(p NumberPattern) bool { return p.Match(number) })
}

// compileNumberPattern turns an Asterisk-style pattern into an anchored
// regular expression; ok false names what is wrong.
func compileNumberPattern(s string) (NumberPattern, string) {
	if s == "" || s == "_" {
		return NumberPattern{}, "must not be empty"
	}
	if len(s) > 40 {
		return NumberPattern{}, "is longer than 40 characters"
	}
	var b strings.Builder
	b.WriteString("^")
	if !strings.HasPrefix(s, "_") {
		if strings.Trim(s, "0123456789") != "" {
			return NumberPattern{}, "must be digits, or a pattern starting with _ (X Z N [1-5] . !)"
		}
		b.WriteString(s)
	} else {
		for i := 1; i < len(s); i++ {
			switch ch := s[i]; {
			case ch >= '0' && ch <= '9':
				b.WriteByte(ch)
			case ch == 'X' || ch == 'x':
				b.WriteString("[0-9]")
			case ch == 'Z' || ch == 'z':
				b.WriteString("[1-9]")
			case ch == 'N' || ch == 'n':
				b.WriteString("[2-9]")
			case ch == '.':
				b.WriteString("[0-9]+")
			case ch == '!':
				b.WriteString("[0-9]*")
			case ch == '[':
				end := strings.IndexByte(s[i:], ']')
				set := ""
				if end > 0 {
					set = s[i+1 : i+end]
				}
				if !validDigitSet(set) {
					return NumberPattern{}, "has a bad [set]: digits and ranges such as [3-9] or [135]"
				}
				b.WriteString("[" + set + "]")
				i += end
			default:
				return NumberPattern{}, "has " + string(ch) + "; a pattern has digits, X, Z, N, [set], . and ! after the _"
			}
		}
	}
	b.WriteString("$")
	return NumberPattern{Text: s, re: regexp.MustCompile(b.String())}, ""
}

// validDigitSet: digits and ascending ranges d-d, at least one.
func validDigitSet(set string) bool {
	if set == "" {
		return false
	}
	for i := 0; i < len(set); i++ {
		if set[i] < '0' || set[i] > '9' {
			return false
		}
		if i+2 < len(set) && set[i+1] == '-' {
			if set[i+2] < set[i] || set[i+2] > '9' {
				return false
			}
			i += 2
		}
	}
	return true
}

// mustNumberPatterns compiles the built-in defaults.
func mustNumberPatterns(list []string) []NumberPattern {
	out := make([]NumberPattern, len(list))
	for i, s := range list {
		p, why := compileNumberPattern(s)
		if why != "" {
			panic("config: default callback number " + s + " " + why)
		}
		out[i] = p
	}
	return out
}

// callbackNumbers decodes the callback_numbers list.
func (p *parser) callbackNumbers(path string, n *yaml.Node) {
	var out []NumberPattern
	ok := p.list(path, n, func(_ int, ip string, v *yaml.Node) {
		s, ok := p.scalar(ip, v, "a number or a pattern starting with _", "!!str", "!!int")
		if !ok {
			return
		}
		np, why := compileNumberPattern(s)
		if why != "" {
			p.problem(v.Line, ip, "%q %s", s, why)
			return
		}
		out = append(out, np)
	})
	if ok && len(n.Content) == 0 {
		p.problem(n.Line, path, "must list at least one number pattern (turn callbacks off with callback: false on the queues)")
		return
	}
	if ok {
		p.c.CallbackNumbers = out
	}
}
