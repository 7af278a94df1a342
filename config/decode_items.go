package config

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Items of the list sections are appended even when broken, so that item i
// of a slice is "section[i]" in messages; broken fields stay zero and the
// rules across fields skip zero values.

func (p *parser) trunks(path string, n *yaml.Node) {
	p.list(path, n, func(_ int, ip string, v *yaml.Node) {
		t := Trunk{Ping: defaultTrunkPing}
		seen := p.mapping(ip, v, fields{
			"ping": func(path string, v *yaml.Node) {
				if v.Value == "0" || v.Value == "0s" {
					t.Ping = 0
					return
				}
				setDuration(&p.reader, &t.Ping, path, v, time.Second)
			},
			"name": func(path string, v *yaml.Node) {
				if s, ok := p.str(path, v); ok && p.checkName(path, v, s, trunkChars, "made of a-z, 0-9, - and _") {
					t.Name = s
				}
			},
			"acl":  func(path string, v *yaml.Node) { t.ACL = p.acl(path, v) },
			"srtp": p.srtpPolicy(&t.SRTP),
			"transport": func(path string, v *yaml.Node) {
				if s, ok := p.str(path, v); ok && p.oneOf(path, v, s, "transport", []string{TransportUDP, TransportTCP, TransportTLS}) {
					t.Transport = s
				}
			},
			"outbound": func(path string, v *yaml.Node) {
				if s := p.sipURI(path, v); strings.Contains(s, "@") {
					p.problem(v.Line, path, "%q: the carrier's address takes no user part (the number called is put there), e.g. sip:10.1.2.3:5060", s)
				} else {
					t.Outbound = s
				}
			},
			"lines": func(path string, v *yaml.Node) {
				p.list(path, v, func(_ int, ip string, v *yaml.Node) {
					s, _ := p.digits(ip, v, 3, 20)
					t.Lines = append(t.Lines, s)
				})
			},
		})
		p.require(ip, v, seen, "name", "acl")
		p.c.Trunks = append(p.c.Trunks, t)
	})
}

// acl parses CIDR prefixes or bare IPs (a bare IP is a one-address prefix).
func (p *parser) acl(path string, n *yaml.Node) []netip.Prefix {
	var out []netip.Prefix
	ok := p.list(path, n, func(_ int, ip string, v *yaml.Node) {
		s, ok := p.nonEmpty(ip, v)
		if !ok {
			return
		}
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				p.problem(v.Line, ip, "%q is neither a CIDR prefix (10.0.0.0/8) nor an IP address", s)
				return
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		if pfx != pfx.Masked() {
			p.problem(v.Line, ip, "%q has host bits set; did you mean %s?", s, pfx.Masked())
			return
		}
		out = append(out, pfx)
	})
	if ok && len(n.Content) == 0 {
		p.problem(n.Line, path, "must list at least one prefix")
	}
	return out
}

func (p *parser) lines(path string, n *yaml.Node) {
	p.list(path, n, func(_ int, ip string, v *yaml.Node) {
		var l Line
		seen := p.mapping(ip, v, fields{
			"number": func(path string, v *yaml.Node) { l.Number, _ = p.digits(path, v, 3, 20) },
			"mode": func(path string, v *yaml.Node) {
				s, ok := p.str(path, v)
				if ok && !slices.Contains(lineModes, s) {
					p.problem(v.Line, path, "unknown mode %q (known: %s)", s, strings.Join(lineModes, ", "))
					return
				}
				l.Mode = s
			},
			"skill":  func(path string, v *yaml.Node) { l.Skill, _ = p.nonEmpty(path, v) },
			"target": func(path string, v *yaml.Node) { l.Target = p.sipURI(path, v) },
			"ring_timeout": func(path string, v *yaml.Node) {
				l.RingTimeout, _ = p.duration(path, v, time.Second)
			},
			"announcement": func(path string, v *yaml.Node) { l.Announcement = p.announcement(path, v) },
			"ivr":          func(path string, v *yaml.Node) { l.IVR, _ = p.nonEmpty(path, v) },
			"hours":        func(path string, v *yaml.Node) { l.Hours, _ = p.nonEmpty(path, v) },
		})
		p.require(ip, v, seen, "number", "mode", "skill")
		p.c.Lines = append(p.c.Lines, l)
	})
}

var lineModes = []string{ModeMain, ModeMerge, ModeForward, ModeParallel, ModeSubcentre}

// hasTarget reports whether lines of the mode have a department target.
func hasTarget(mode string) bool { return mode == ModeParallel || mode == ModeSubcentre }

func (p *parser) announcement(path string, n *yaml.Node) *Announcement {
	var a Announcement
	seen := p.mapping(path, n, fields{
		"prompt": func(path string, v *yaml.Node) { a.Prompt, _ = p.nonEmpty(path, v) },
		"from":   func(path string, v *yaml.Node) { a.From, _ = p.date(path, v) },
		"until":  func(path string, v *yaml.Node) { a.Until, _ = p.date(path, v) },
	})
	p.require(path, n, seen, "prompt", "from", "until")
	if !a.From.IsZero() && !a.Until.IsZero() && !a.From.Before(a.Until) {
		p.problemAt(path+".until", "must be after from (%s)", a.From.Format("2006-01-02"))
	}
	return &a
}

// sipURI accepts sip:[user@]host[:port][;params]; it returns "" when invalid.
func (p *parser) sipURI(path string, v *yaml.Node) string {
	s, ok := p.nonEmpty(path, v)
	if !ok {
		return ""
	}
	if err := checkSIPURI(s); err != "" {
		p.problem(v.Line, path, "%q is not a SIP URI such as sip:12333@10.1.2.3:5060: %s", s, err)
		return ""
	}
	return s
}

func checkSIPURI(s string) string {
	rest, ok := strings.CutPrefix(s, "sip:")
	if !ok {
		return "it must start with sip:"
	}
	rest, _, _ = strings.Cut(rest, ";")
	if user, host, found := strings.Cut(rest, "@"); found {
		if user == "" || strings.ContainsAny(user, " <>\"") {
			return "bad user part"
		}
		rest = host
	}
	host, port := rest, ""
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.HasSuffix(rest, "]") {
		host, port = rest[:i], rest[i+1:]
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "bad port"
		}
	}
	if host == "" || strings.ContainsAny(host, " <>\"@/?") {
		return "bad host"
	}
	return ""
}

func (p *parser) emergency(path string, n *yaml.Node) {
	p.list(path, n, func(_ int, ip string, v *yaml.Node) {
		var e Emergency
		seen := p.mapping(ip, v, fields{
			"number": func(path string, v *yaml.Node) { e.Number, _ = p.digits(path, v, 2, 20) },
			"target": func(path string, v *yaml.Node) { e.Target = p.sipURI(path, v) },
		})
		p.require(ip, v, seen, "number", "target")
		p.c.Emergency = append(p.c.Emergency, e)
	})
}

func (p *parser) seats(path string, n *yaml.Node) {
	p.list(path, n, func(_ int, ip string, v *yaml.Node) {
		var s Seat
		seen := p.mapping(ip, v, fields{
			"extension": func(path string, v *yaml.Node) { s.Extension, _ = p.digits(path, v, 3, 6) },
			"name":      func(path string, v *yaml.Node) { s.Name, _ = p.nonEmpty(path, v) },
			"password": func(path string, v *yaml.Node) {
				pw, ok := p.str(path, v)
				if ok && len(pw) < 8 {
					p.problem(v.Line, path, "must be at least 8 characters")
					return
				}
				s.Password = pw
			},
			"skills": func(path string, v *yaml.Node) { s.Skills = p.seatSkills(path, v) },
			"role": func(path string, v *yaml.Node) {
				if r, ok := p.str(path, v); ok && p.oneOf(path, v, r, "a role", []string{RoleAgent, RoleSupervisor}) {
					s.Role = r
				}
			},
			"monitor_queues": func(path string, v *yaml.Node) { s.MonitorQueues, _ = p.strList(path, v) },
			"srtp":           p.srtpPolicy(&s.SRTP),
			"monitorable": func(path string, v *yaml.Node) {
				if b, ok := p.boolean(path, v); ok {
					s.NotMonitorable = !b
				}
			},
		})
		p.require(ip, v, seen, "extension", "password", "skills")
		if s.Role == "" {
			s.Role = RoleAgent
		}
		if len(s.MonitorQueues) > 0 && s.Role != RoleSupervisor {
			p.problem(v.Line, ip+".monitor_queues", "only a seat with role: supervisor monitors queues")
		}
		p.c.Seats = append(p.c.Seats, s)
	})
}

// seatSkills parses "skill" or "skill:level" items, level 1..10.
func (p *parser) seatSkills(path string, n *yaml.Node) []SkillLevel {
	var out []SkillLevel
	ok := p.list(path, n, func(_ int, ip string, v *yaml.Node) {
		out = append(out, p.seatSkill(ip, v, out))
	})
	if ok && len(n.Content) == 0 {
		p.problem(n.Line, path, "must list at least one skill")
	}
	return out
}

// seatSkill parses one item; the zero SkillLevel when it is wrong.
func (p *parser) seatSkill(path string, v *yaml.Node, prev []SkillLevel) SkillLevel {
	s, ok := p.str(path, v)
	if !ok {
		return SkillLevel{}
	}
	name, lv, hasLevel := strings.Cut(s, ":")
	level := defaultSkillLevel
	if hasLevel {
		l, err := strconv.Atoi(strings.TrimSpace(lv))
		if err != nil || l < 1 || l > 10 {
			p.problem(v.Line, path, "%q: level must be an integer from 1 to 10", s)
			return SkillLevel{}
		}
		level = l
	}
	name = strings.TrimSpace(name)
	if name == "" {
		p.problem(v.Line, path, "%q does not name a skill", s)
		return SkillLevel{}
	}
	if slices.ContainsFunc(prev, func(sl SkillLevel) bool { return sl.Skill == name }) {
		p.problem(v.Line, path, "skill %q is listed twice", name)
		return SkillLevel{}
	}
	return SkillLevel{Skill: name, Level: level}
}
