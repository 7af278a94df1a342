package config

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// reader walks yaml nodes, collects problems with their lines, and remembers
// the line of every key and list item it visits (by path, e.g.
// "lines[2].skill") so that rules across fields can point at the right line.
type reader struct {
	file  string
	probs []Problem
	at    map[string]int
}

// fields maps each known key of a mapping to the function that decodes its
// value; path is the key's path.
type fields map[string]func(path string, v *yaml.Node)

func (r *reader) problem(line int, path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	r.probs = append(r.probs, Problem{File: r.file, Line: line, Msg: msg})
}

// lineOf returns the line of path, or of its closest recorded parent.
func (r *reader) lineOf(path string) int {
	for path != "" {
		if l, ok := r.at[path]; ok {
			return l
		}
		path = path[:max(strings.LastIndexAny(path, ".["), 0)]
	}
	return r.at[""]
}

// problemAt reports a problem on the line of path.
func (r *reader) problemAt(path, format string, args ...any) {
	r.problem(r.lineOf(path), path, format, args...)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// describe names what a node holds, for "must be X, not Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return fmt.Sprintf("the string %q", n.Value)
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!bool":
			return "the boolean " + n.Value
		case "!!null":
			return "empty"
		case "!!timestamp":
			return "the date " + n.Value
		}
		return "the value " + strconv.Quote(n.Value)
	}
	return "nothing"
}

func (r *reader) wrongType(path string, n *yaml.Node, want string) {
	if n.Kind == yaml.AliasNode {
		r.problem(n.Line, path, "YAML aliases are not supported")
		return
	}
	r.problem(n.Line, path, "must be %s, not %s", want, describe(n))
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// mapping decodes a mapping with known keys; unknown and duplicate keys are
// problems. A null value counts as an empty mapping. It returns the keys seen.
func (r *reader) mapping(path string, n *yaml.Node, f fields) map[string]bool {
	seen := map[string]bool{}
	if isNull(n) {
		return seen
	}
	if n.Kind != yaml.MappingNode {
		r.wrongType(path, n, "a mapping")
		return nil
	}
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			r.problem(k.Line, path, "YAML merge keys (<<) are not supported")
			continue
		}
		if k.Kind != yaml.ScalarNode {
			r.problem(k.Line, path, "keys must be plain names, not %s", describe(k))
			continue
		}
		kp := join(path, k.Value)
		if l, dup := first[k.Value]; dup {
			r.problem(k.Line, kp, "duplicate key (first at line %d)", l)
			continue
		}
		first[k.Value] = k.Line
		decode, ok := f[k.Value]
		if !ok {
			r.problem(k.Line, path, "unknown key %q (known: %s)", k.Value,
				strings.Join(slices.Sorted(maps.Keys(f)), ", "))
			continue
		}
		seen[k.Value] = true
		r.at[kp] = k.Line
		decode(kp, v)
	}
	return seen
}

// require reports each key missing from a mapping (seen == nil means the
// mapping itself was wrong and has been reported).
func (r *reader) require(path string, n *yaml.Node, seen map[string]bool, keys ...string) {
	if seen == nil {
		return
	}
	for _, k := range keys {
		if !seen[k] {
			r.problem(n.Line, path, "missing required key %q", k)
		}
	}
}

// list decodes a sequence item by item; a null value counts as empty.
func (r *reader) list(path string, n *yaml.Node, item func(i int, path string, v *yaml.Node)) bool {
	if isNull(n) {
		return true
	}
	if n.Kind != yaml.SequenceNode {
		r.wrongType(path, n, "a list")
		return false
	}
	for i, v := range n.Content {
		ip := fmt.Sprintf("%s[%d]", path, i)
		r.at[ip] = v.Line
		item(i, ip, v)
	}
	return true
}

// scalar returns the value of a scalar whose tag is one of tags.
func (r *reader) scalar(path string, n *yaml.Node, want string, tags ...string) (string, bool) {
	if n.Kind != yaml.ScalarNode || !slices.Contains(tags, n.ShortTag()) {
		r.wrongType(path, n, want)
		return "", false
	}
	return n.Value, true
}

func (r *reader) str(path string, n *yaml.Node) (string, bool) {
	return r.scalar(path, n, "a string", "!!str")
}

// nonEmpty is a string that must not be empty.
func (r *reader) nonEmpty(path string, n *yaml.Node) (string, bool) {
	s, ok := r.str(path, n)
	if ok && s == "" {
		r.problem(n.Line, path, "must not be empty")
		return "", false
	}
	return s, ok
}

func (r *reader) strList(path string, n *yaml.Node) ([]string, bool) {
	out := []string{}
	ok := r.list(path, n, func(_ int, ip string, v *yaml.Node) {
		if s, good := r.nonEmpty(ip, v); good {
			out = append(out, s)
		}
	})
	return out, ok
}

// integer accepts a YAML integer that fits in [lo, hi].
func (r *reader) integer(path string, n *yaml.Node, lo, hi int) (int, bool) {
	s, ok := r.scalar(path, n, "an integer", "!!int", "!!float")
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 0, 64)
	if err != nil || v < int64(lo) || v > int64(hi) {
		r.problem(n.Line, path, "must be an integer from %d to %d, not %s", lo, hi, s)
		return 0, false
	}
	return int(v), true
}

// duration accepts a Go duration string ("30s", "5m") not below lo; a bare 0
// is the zero duration.
func (r *reader) duration(path string, n *yaml.Node, lo time.Duration) (time.Duration, bool) {
	s, ok := r.scalar(path, n, `a duration such as "30s"`, "!!str", "!!int")
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if days, isDays := strings.CutSuffix(s, "d"); isDays {
		var k int
		k, err = strconv.Atoi(days)
		d = time.Duration(k) * 24 * time.Hour
		if k < 0 || k > 36500 {
			err = strconv.ErrRange
		}
	}
	if err != nil {
		r.problem(n.Line, path, "%q is not a duration (use a number with a unit: 500ms, 30s, 5m, 1h, 90d)", s)
		return 0, false
	}
	if d < lo {
		r.problem(n.Line, path, "must be at least %s, not %s", durationText(lo), s)
		return 0, false
	}
	return d, true
}

func durationText(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	return d.String()
}

// date accepts YYYY-MM-DD, local midnight.
func (r *reader) date(path string, n *yaml.Node) (time.Time, bool) {
	s, ok := r.scalar(path, n, "a date YYYY-MM-DD", "!!str", "!!timestamp")
	if !ok {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation(time.DateOnly, s, time.Local)
	if err != nil {
		r.problem(n.Line, path, "%q is not a date YYYY-MM-DD", s)
		return time.Time{}, false
	}
	return t, true
}

// digits accepts a number written with digits only, quoted or not, keeping
// leading zeros as written; length in [lo, hi].
func (r *reader) digits(path string, n *yaml.Node, lo, hi int) (string, bool) {
	s, ok := r.scalar(path, n, "a number made of digits", "!!str", "!!int", "!!float")
	if !ok {
		return "", false
	}
	if len(s) < lo || len(s) > hi || strings.Trim(s, "0123456789") != "" {
		r.problem(n.Line, path, "must be %d to %d digits, not %q", lo, hi, s)
		return "", false
	}
	return s, true
}

// maxNameLen bounds centre, skill and trunk names (they end up in metric
// labels and file names).
const maxNameLen = 64

// checkName reports a name that is not made of allowed characters.
func (r *reader) checkName(path string, n *yaml.Node, s, allowed, what string) bool {
	if s == "" || strings.Trim(s, allowed) != "" || len(s) > maxNameLen {
		r.problem(n.Line, path, "%q must be %s (at most %d characters)", s, what, maxNameLen)
		return false
	}
	return true
}
