package ivr

import (
	"slices"
	"strings"

	"github.com/hotline-cc/hotline/config"
)

// enter walks from n through the nodes that need no caller input (set,
// time, caller, language) to the first one that plays or waits, or to the
// end. The hop bound only trips on a tree that failed validation.
func (s *Session) enter(n *node) Action {
	for range s.t.size + 1 {
		if n == nil {
			return s.end(Outcome{Kind: KindHangup, Reason: ReasonBrokenTree})
		}
		if !s.note(n.Name) {
			return s.tooLong()
		}
		switch n.Type {
		case config.NodePlay:
			s.cur, s.phase = n, phPlay
			return Action{Play: s.prompts(n.Prompts), BargeIn: n.BargeIn}
		case config.NodeMenu, config.NodeCollect:
			s.cur, s.phase, s.tries, s.digits = n, phPrompt, 0, s.digits[:0]
			return Action{Play: s.prompts(n.Prompts), BargeIn: n.BargeIn}
		case config.NodeSet:
			s.set(n)
			n = n.next
		case config.NodeTime:
			n = s.branchTime(n)
		case config.NodeCaller:
			n = s.branchCaller(n)
		case config.NodeLanguage:
			s.lang = n.Language
			n = n.next
		case config.NodeQueue:
			return s.queue(n)
		case config.NodeTransfer:
			return s.end(Outcome{Kind: KindTransfer, Target: n.Target})
		case config.NodeHangup:
			return s.end(Outcome{Kind: KindHangup, Reason: n.Reason})
		default:
			return s.end(Outcome{Kind: KindHangup, Reason: ReasonBrokenTree})
		}
	}
	return s.end(Outcome{Kind: KindHangup, Reason: ReasonLoop})
}

func (s *Session) set(n *node) {
	if n.Var != "" {
		s.vars[n.Var] = n.Value
	}
	if n.Tag != "" && !slices.Contains(s.tags, n.Tag) {
		s.tags = append(s.tags, n.Tag)
	}
	s.priority = max(s.priority, n.Priority)
}

// branchTime picks the holiday branch on a public holiday (when the node
// has one), else open or closed by the node's hours.
func (s *Session) branchTime(n *node) *node {
	now := s.now()
	if n.holiday != nil && s.t.plan.sched.holiday(config.DateOf(now)) {
		return n.holiday
	}
	if n.hours != nil && s.t.plan.sched.open(n.hours, now) {
		return n.open
	}
	return n.closed
}

// branchCaller picks the first list holding the caller's number.
func (s *Session) branchCaller(n *node) *node {
	for _, cl := range n.callers {
		for _, num := range cl.numbers {
			if matchNumber(num, s.env.Caller) {
				s.priority = max(s.priority, cl.priority)
				return cl.next
			}
		}
	}
	return n.def
}

// matchNumber: exact, or a prefix when pattern ends in "*".
func matchNumber(pattern, caller string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(caller, prefix)
	}
	return pattern == caller
}

// input handles a digit for the menu or collect node in progress.
func (s *Session) input(d rune) Action {
	if s.cur.Type == config.NodeMenu {
		if next, ok := s.cur.choices[d]; ok {
			if !s.note(string(d)) {
				return s.tooLong()
			}
			return s.enter(next)
		}
		return s.retry(s.cur.Invalid)
	}
	switch {
	case s.cur.Terminator != "" && d == rune(s.cur.Terminator[0]):
		return s.collected()
	case d < '0' || d > '9':
		return s.retry(s.cur.Invalid)
	}
	s.digits = append(s.digits, byte(d))
	if len(s.digits) >= s.cur.Max {
		return s.collected()
	}
	s.phase = phDigits
	return Action{Timer: s.cur.DigitTimeout}
}

// collected ends a collect's entry (terminator, maximum length or the
// timeout between digits): enough digits go into the variable, too few are
// an invalid input.
func (s *Session) collected() Action {
	if len(s.digits) < s.cur.Min {
		return s.retry(s.cur.Invalid)
	}
	s.vars[s.cur.Var] = string(s.digits)
	return s.enter(s.cur.next)
}

// retry plays extra (the invalid or no-input prompts) and the node's prompts
// again, or goes to the node's default once its retries are spent.
func (s *Session) retry(extra []string) Action {
	s.tries++
	s.digits = s.digits[:0]
	if s.tries > s.cur.Retries {
		return s.enter(s.cur.def)
	}
	s.phase = phPrompt
	return Action{Play: s.prompts(extra, s.cur.Prompts), BargeIn: s.cur.BargeIn}
}

// note adds entry to the path; false when the path is full (MaxPath).
func (s *Session) note(entry string) bool {
	if len(s.path) >= MaxPath {
		return false
	}
	s.path = append(s.path, entry)
	return true
}

// tooLong ends a walk whose path is full.
func (s *Session) tooLong() Action { return s.end(Outcome{Kind: KindHangup, Reason: ReasonTooLong}) }
