package config

import (
	"net"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

const (
	featureChars = "0123456789*#"
	nodeChars    = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."
)

// reasonMissed is the not-ready reason the engine sets after unanswered
// offers; an agent cannot choose it.
const reasonMissed = "missed"

// acd decodes the acd section.
func (p *parser) acd(path string, n *yaml.Node) {
	a := &p.c.ACD
	dur := func(dst *time.Duration) func(string, *yaml.Node) {
		return func(path string, v *yaml.Node) { setDuration(&p.reader, dst, path, v, time.Second) }
	}
	p.mapping(path, n, fields{
		"feature_codes": p.featureCodes,
		"max_misses": func(path string, v *yaml.Node) {
			if i, ok := p.integer(path, v, 1, 100); ok {
				a.MaxMisses = i
			}
		},
		"retry_tried":           dur(&a.RetryTried),
		"stale_offer":           dur(&a.StaleOffer),
		"callback_lead":         dur(&a.CallbackLead),
		"callback_ring_timeout": dur(&a.CallbackRing),
		"auto_login":            p.setBool(&a.AutoLogin),
		"short_abandon":         dur(&a.ShortAbandon),
	})
}

// featureCodes decodes acd.feature_codes; a code left out keeps its default.
func (p *parser) featureCodes(path string, n *yaml.Node) {
	f := &p.c.ACD.Features
	code := func(dst *string) func(string, *yaml.Node) {
		return func(path string, v *yaml.Node) {
			if s, ok := p.dtmfCode(path, v); ok {
				*dst = s
			}
		}
	}
	p.mapping(path, n, fields{
		"login":     code(&f.Login),
		"logout":    code(&f.Logout),
		"not_ready": code(&f.NotReady),
		"ready":     code(&f.Ready),
		"reasons":   p.reasons,
	})
}

// dtmfCode accepts a code keyed on a phone: a quoted string of 2 to 8 of
// 0-9, * and #, starting with * or # (feature codes, one-key codes).
func (p *parser) dtmfCode(path string, v *yaml.Node) (string, bool) {
	s, ok := p.scalar(path, v, "a code such as \"*11\"", "!!str")
	if !ok {
		return "", false
	}
	if len(s) < 2 || len(s) > 8 || strings.Trim(s, featureChars) != "" || !strings.ContainsAny(s[:1], "*#") {
		p.problem(v.Line, path, "%q must be 2 to 8 of 0-9, * and #, starting with * or # (so it is never an extension or a line)", s)
		return "", false
	}
	return s, true
}

// reasons decodes feature_codes.reasons: digit -> reason code.
func (p *parser) reasons(path string, n *yaml.Node) {
	out := map[string]string{}
	p.named(path, n, func(key, kp string, k, v *yaml.Node) {
		if len(key) != 1 || key[0] < '0' || key[0] > '9' {
			p.problem(k.Line, kp, "%q is not a digit 0-9 (the key pressed after not_ready)", key)
			return
		}
		s, ok := p.str(kp, v)
		if !ok || !p.checkName(kp, v, s, skillChars, "a reason code made of a-z, 0-9 and _") {
			return
		}
		if s == reasonMissed {
			p.problem(v.Line, kp, "%q is set by the engine after unanswered offers; agents cannot choose it", s)
			return
		}
		out[key] = s
	})
	p.c.ACD.Features.Reasons = out
}

// queues decodes the queues section. Items are appended even when broken
// (see decode_items.go); a broken name is "".
func (p *parser) queues(path string, n *yaml.Node) {
	p.list(path, n, func(_ int, ip string, v *yaml.Node) {
		q := newQueue("")
		seen := p.mapping(ip, v, p.queueFields(&q))
		p.require(ip, v, seen, "name")
		if seen != nil && !seen["skill"] {
			q.Skill = q.Name
		}
		p.c.Queues = append(p.c.Queues, q)
	})
}

func (p *parser) queueFields(q *Queue) fields {
	dur := func(dst *time.Duration, lo time.Duration) func(string, *yaml.Node) {
		return func(path string, v *yaml.Node) { setDuration(&p.reader, dst, path, v, lo) }
	}
	dest := func(dst *Destination) func(string, *yaml.Node) {
		return func(path string, v *yaml.Node) { *dst = p.destination(path, v) }
	}
	return fields{
		"name": func(path string, v *yaml.Node) {
			if s, ok := p.str(path, v); ok && p.checkName(path, v, s, nameChars, "made of a-z, 0-9, - and _") {
				q.Name = s
			}
		},
		"skill":     func(path string, v *yaml.Node) { q.Skill, _ = p.nonEmpty(path, v) },
		"min_level": func(path string, v *yaml.Node) { q.MinLevel, _ = p.integer(path, v, 1, 10) },
		"strategy": func(path string, v *yaml.Node) {
			if s, ok := p.str(path, v); ok {
				if !p.oneOf(path, v, s, "strategy", strategies) {
					s = ""
				}
				q.Strategy = s
			}
		},
		"escalation":     func(path string, v *yaml.Node) { q.Escalation = p.escalation(path, v) },
		"wrap_up":        dur(&q.WrapUp, 0),
		"service_level":  dur(&q.ServiceLevel, time.Second),
		"max_wait":       dur(&q.MaxWait, time.Second),
		"on_max_wait":    dest(&q.OnMaxWait),
		"max_length":     func(path string, v *yaml.Node) { q.MaxLength, _ = p.integer(path, v, 1, 100000) },
		"on_full":        dest(&q.OnFull),
		"announce_every": dur(&q.AnnounceEvery, 0),
		"callback":       p.setBool(&q.Callback),
		"callback_key": func(path string, v *yaml.Node) {
			s, ok := p.scalar(path, v, "one key: 0-9, * or #", "!!str", "!!int")
			if !ok {
				return
			}
			if len(s) != 1 || !strings.Contains("0123456789*#", s) {
				p.problem(v.Line, path, "%q must be one key: 0-9, * or #", s)
				return
			}
			q.CallbackKey = s
		},
		"callback_attempts": func(path string, v *yaml.Node) {
			q.CallbackAttempts, _ = p.integer(path, v, 1, 10)
		},
		"callback_retry_after": dur(&q.CallbackRetry, time.Second),
		"callback_expiry":      dur(&q.CallbackExpiry, time.Second),
		"default_handle":       dur(&q.DefaultHandle, time.Second),
		"record":               p.setBool(&q.Record),
		"survey":               p.setBool(&q.Survey),
	}
}

// oneOf reports a value that is not one of known.
func (r *reader) oneOf(path string, v *yaml.Node, s, what string, known []string) bool {
	for _, k := range known {
		if s == k {
			return true
		}
	}
	r.problem(v.Line, path, "unknown %s %q (known: %s)", what, s, strings.Join(known, ", "))
	return false
}

// escalation decodes a queue's steps: {after, min_level, skills, queues}.
func (p *parser) escalation(path string, n *yaml.Node) []Step {
	var out []Step
	p.list(path, n, func(_ int, ip string, v *yaml.Node) {
		var s Step
		seen := p.mapping(ip, v, fields{
			"after":     func(path string, v *yaml.Node) { setDuration(&p.reader, &s.After, path, v, time.Second) },
			"min_level": func(path string, v *yaml.Node) { s.MinLevel, _ = p.integer(path, v, 1, 10) },
			"skills":    func(path string, v *yaml.Node) { s.Skills, _ = p.strList(path, v) },
			"queues":    func(path string, v *yaml.Node) { s.Queues, _ = p.strList(path, v) },
		})
		p.require(ip, v, seen, "after")
		if seen != nil && !seen["min_level"] && !seen["skills"] && !seen["queues"] {
			p.problem(v.Line, ip, "a step needs min_level, skills or queues (what it widens)")
		}
		out = append(out, s)
	})
	return out
}

// destination parses "none", "callback", "queue NAME", "target sip:URI" or
// "message PROMPT"; the zero Destination when it is wrong.
func (p *parser) destination(path string, v *yaml.Node) Destination {
	s, ok := p.str(path, v)
	if !ok {
		return Destination{}
	}
	words := strings.Fields(s)
	kind, arg := "", ""
	if len(words) > 0 {
		kind = words[0]
	}
	if len(words) == 2 {
		arg = words[1]
	}
	bad := func(why string) Destination {
		p.problem(v.Line, path, "%q %s (none, callback, queue NAME, target sip:URI or message PROMPT)", s, why)
		return Destination{}
	}
	switch {
	case (kind == "none" || kind == DestCallback) && len(words) == 1:
		if kind == "none" {
			return Destination{}
		}
		return Destination{Kind: DestCallback}
	case kind != DestQueue && kind != DestTarget && kind != DestMessage:
		return bad("is not a destination")
	case len(words) != 2:
		return bad("needs exactly one word after " + kind)
	case kind == DestQueue:
		return Destination{Kind: DestQueue, Queue: arg}
	case kind == DestMessage:
		return Destination{Kind: DestMessage, Message: arg}
	}
	if err := checkSIPURI(arg); err != "" {
		p.problem(v.Line, path, "%q is not a SIP URI such as sip:12333@10.1.2.3:5060: %s", arg, err)
		return Destination{}
	}
	return Destination{Kind: DestTarget, Target: arg}
}

// store decodes the store section.
func (p *parser) store(path string, n *yaml.Node) {
	st := &p.c.Store
	p.mapping(path, n, fields{
		"kind": func(path string, v *yaml.Node) {
			s, ok := p.str(path, v)
			if ok && !p.oneOf(path, v, s, "store kind", []string{StoreMemory, StoreRedis}) {
				s = "" // reported: skip the rules on the kind
			}
			st.Kind = s
		},
		"redis": p.redis,
		"node": func(path string, v *yaml.Node) {
			if s, ok := p.str(path, v); ok && p.checkName(path, v, s, nodeChars, "made of letters, digits, -, _ and .") {
				st.Node = s
			}
		},
	})
}

// redisConn are the keys of a Redis connection (store.redis,
// records.redis_stream), decoded into address, password and db.
func (p *parser) redisConn(address, password *string, db *int, more fields) fields {
	more["address"] = func(path string, v *yaml.Node) {
		if s, ok := p.nonEmpty(path, v); ok && p.hostPort(path, v, s) {
			*address = s
		}
	}
	more["password"] = func(path string, v *yaml.Node) { *password, _ = p.nonEmpty(path, v) }
	more["db"] = func(path string, v *yaml.Node) { *db, _ = p.integer(path, v, 0, 65535) }
	return more
}

func (p *parser) redis(path string, n *yaml.Node) {
	r := &p.c.Store.Redis
	seen := p.mapping(path, n, p.redisConn(&r.Address, &r.Password, &r.DB, fields{
		"prefix": func(path string, v *yaml.Node) {
			s, ok := p.nonEmpty(path, v)
			if ok && strings.ContainsAny(s, " \t\r\n") {
				p.problem(v.Line, path, "%q must not contain spaces", s)
				return
			}
			if ok {
				r.Prefix = s
			}
		},
	}))
	p.require(path, n, seen, "address")
}

// hostPort accepts HOST:PORT with a host name or an IP and a port 1..65535.
func (p *parser) hostPort(path string, v *yaml.Node, s string) bool {
	host, port, err := net.SplitHostPort(s)
	n, perr := strconv.Atoi(port)
	if err != nil || host == "" || perr != nil || n < 1 || n > 65535 || strings.ContainsAny(host, " /@") {
		p.problem(v.Line, path, "%q is not HOST:PORT (e.g. 127.0.0.1:6379 or redis.internal:6379)", s)
		return false
	}
	return true
}
