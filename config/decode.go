package config

import (
	"io/fs"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

const (
	lowerDigitsDash = "abcdefghijklmnopqrstuvwxyz0123456789-"
	skillChars      = "abcdefghijklmnopqrstuvwxyz0123456789_"
	trunkChars      = "abcdefghijklmnopqrstuvwxyz0123456789-_"
)

// parser decodes one file into c, field by field; each decoder assigns a
// value only when it is valid, so later rules skip what is already reported.
type parser struct {
	reader
	c          *Config
	promptsDir string
	// osDir is the config's folder on disk ("" from Parse), base the
	// fs.FS of Parse: where relative file names (sip.tls) are read.
	osDir     string
	base      fs.FS
	skillsBad bool // skills was not a list: skip the checks of references to it

	// paths of the valid calendar items, in the order of Calendar's slices
	holidayPaths, workdayPaths []string
}

func (p *parser) root(n *yaml.Node) {
	c := p.c
	seen := p.mapping("", n, fields{
		"centre": func(path string, v *yaml.Node) {
			if s, ok := p.str(path, v); ok && p.checkName(path, v, s, lowerDigitsDash, "made of a-z, 0-9 and -") {
				c.Centre = s
			}
		},
		"sip":  p.sip,
		"rtp":  p.rtp,
		"http": p.http,
		"data_dir": func(path string, v *yaml.Node) {
			if s, ok := p.nonEmpty(path, v); ok {
				c.DataDir = s
			}
		},
		"shutdown_grace": func(path string, v *yaml.Node) { setDuration(&p.reader, &c.ShutdownGrace, path, v, 0) },
		"timezone": func(path string, v *yaml.Node) {
			if s, ok := p.nonEmpty(path, v); ok {
				loc, err := time.LoadLocation(s)
				if err != nil {
					p.problem(v.Line, path, "unknown time zone %q (an IANA name such as Asia/Shanghai)", s)
					return
				}
				c.Location = loc
			}
		},
		"prompts":   p.prompts,
		"skills":    p.skills,
		"trunks":    p.trunks,
		"lines":     p.lines,
		"emergency": p.emergency,
		"seats":     p.seats,
		"directory": p.directory,
		"default_ivr": func(path string, v *yaml.Node) {
			c.DefaultIVR, _ = p.nonEmpty(path, v)
		},
		"ivr":              p.ivrs,
		"hours":            p.hours,
		"calendar":         p.calendar,
		"acd":              p.acd,
		"queues":           p.queues,
		"store":            p.store,
		"limits":           p.limits,
		"callback_numbers": p.callbackNumbers,
		"calling_hours":    func(path string, v *yaml.Node) { c.CallingHours, _ = p.nonEmpty(path, v) },
		"records":          p.records,
		"wallboard":        p.wallboard,
		"recordings": func(path string, v *yaml.Node) {
			p.mapping(path, v, fields{
				"keep": func(path string, v *yaml.Node) { setDuration(&p.reader, &c.Recordings.Keep, path, v, 24*time.Hour) },
			})
		},
	})
	p.require("", n, seen, "centre", "sip", "rtp", "http", "skills")
	if !seen["skills"] {
		p.skillsBad = true
	}
}

func setDuration(r *reader, dst *time.Duration, path string, v *yaml.Node, lo time.Duration) {
	if d, ok := r.duration(path, v, lo); ok {
		*dst = d
	}
}

func (p *parser) addrPort(path string, v *yaml.Node, dst *netip.AddrPort) {
	s, ok := p.nonEmpty(path, v)
	if !ok {
		return
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		p.problem(v.Line, path, "%q is not IP:PORT (e.g. 127.0.0.1:5060 or [::1]:5060)", s)
		return
	}
	*dst = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// maxSessionExpires bounds sip.min_session_expires: a day without a
// refresh is no session timer at all.
const maxSessionExpires = 24 * time.Hour

func (p *parser) sip(path string, n *yaml.Node) {
	s := &p.c.SIP
	seen := p.mapping(path, n, fields{
		"address":    func(path string, v *yaml.Node) { p.addrPort(path, v, &s.Address) },
		"transports": p.transports,
		"realm": func(path string, v *yaml.Node) {
			if r, ok := p.nonEmpty(path, v); ok {
				s.Realm = r
			}
		},
		"user_agent": func(path string, v *yaml.Node) {
			if ua, ok := p.nonEmpty(path, v); ok {
				s.UserAgent = ua
			}
		},
		"nonce_ttl":        func(path string, v *yaml.Node) { setDuration(&p.reader, &s.NonceTTL, path, v, time.Second) },
		"register_expires": p.registerExpires,
		"max_auth_failures": func(path string, v *yaml.Node) {
			if i, ok := p.integer(path, v, 0, 100); ok {
				s.MaxAuthFailures = i
			}
		},
		"seat_ring_timeout": func(path string, v *yaml.Node) {
			setDuration(&p.reader, &s.SeatRingTimeout, path, v, time.Second)
		},
		"min_session_expires": func(path string, v *yaml.Node) { p.sessionExpires(path, v, time.Second, &s.MinSessionExpires) },
		"seat_session_expires": func(path string, v *yaml.Node) {
			p.sessionExpires(path, v, 0, &s.SeatSessionExpires)
		},
		"seat_keepalive": func(path string, v *yaml.Node) {
			if d, ok := p.duration(path, v, 0); ok && d != 0 && d < time.Second {
				p.problem(v.Line, path, "must be 0s (off) or at least 1s, not %s", d)
			} else if ok {
				s.SeatKeepalive = d
			}
		},
		"auth_lockout":  func(path string, v *yaml.Node) { setDuration(&p.reader, &s.AuthLockout, path, v, time.Second) },
		"seat_networks": func(path string, v *yaml.Node) { s.SeatNetworks = p.acl(path, v) },
		"tls":           p.tlsSection,
		"seat_srtp":     p.srtpPolicy(&s.SeatSRTP),
	})
	p.require(path, n, seen, "address")
}

// sessionExpires reads a session interval: whole seconds up to 24 h, at
// least lo.
func (p *parser) sessionExpires(path string, v *yaml.Node, lo time.Duration, dst *time.Duration) {
	d, ok := p.duration(path, v, lo)
	switch {
	case !ok:
	case d%time.Second != 0 || d > maxSessionExpires:
		p.problem(v.Line, path, "must be whole seconds from 1s to 24h (Session-Expires counts seconds), not %s", d)
	default:
		*dst = d
	}
}

func (p *parser) transports(path string, n *yaml.Node) {
	ts, ok := p.strList(path, n)
	if !ok {
		return
	}
	if len(ts) == 0 {
		p.problem(n.Line, path, "must name at least one of udp, tcp")
		return
	}
	for i, t := range ts {
		ip := path + "[" + strconv.Itoa(i) + "]"
		switch {
		case t != TransportUDP && t != TransportTCP:
			p.problemAt(ip, "unknown transport %q (known: udp, tcp)", t)
			return
		case slices.Index(ts, t) != i:
			p.problemAt(ip, "transport %q is listed twice", t)
			return
		}
	}
	p.c.SIP.Transports = ts
}

func (p *parser) registerExpires(path string, n *yaml.Node) {
	s := &p.c.SIP
	secs := func(dst *time.Duration) func(string, *yaml.Node) {
		return func(path string, v *yaml.Node) {
			if i, ok := p.integer(path, v, 1, 7*24*3600); ok {
				*dst = time.Duration(i) * time.Second
			}
		}
	}
	seen := p.mapping(path, n, fields{
		"min":     secs(&s.RegisterMin),
		"max":     secs(&s.RegisterMax),
		"default": secs(&s.RegisterDefault),
	})
	if seen != nil && (s.RegisterMin > s.RegisterDefault || s.RegisterDefault > s.RegisterMax) {
		p.problem(n.Line, path, "need min <= default <= max, have min %d, default %d, max %d (seconds)",
			int(s.RegisterMin.Seconds()), int(s.RegisterDefault.Seconds()), int(s.RegisterMax.Seconds()))
	}
}

func (p *parser) rtp(path string, n *yaml.Node) {
	r := &p.c.RTP
	seen := p.mapping(path, n, fields{
		"address": func(path string, v *yaml.Node) {
			s, ok := p.nonEmpty(path, v)
			if !ok {
				return
			}
			a, err := netip.ParseAddr(s)
			switch {
			case err != nil:
				p.problem(v.Line, path, "%q is not an IP address", s)
			case a.IsUnspecified():
				p.problem(v.Line, path, "%s is advertised in SDP, so it must be a concrete address, not unspecified", s)
			default:
				r.Address = a.Unmap()
			}
		},
		"address6": func(path string, v *yaml.Node) {
			s, ok := p.nonEmpty(path, v)
			if !ok {
				return
			}
			a, err := netip.ParseAddr(s)
			switch {
			case err != nil || !a.Is6() || a.Is4In6() || a.Zone() != "":
				p.problem(v.Line, path, "%q is not an IPv6 address (without a zone)", s)
			case a.IsUnspecified():
				p.problem(v.Line, path, "%s is advertised in SDP, so it must be a concrete address, not unspecified", s)
			default:
				r.Address6 = a
			}
		},
		"ports":       p.rtpPorts,
		"timeout":     func(path string, v *yaml.Node) { setDuration(&p.reader, &r.Timeout, path, v, 0) },
		"batch_sends": p.setBool(&r.BatchSends),
		"fast_path": func(path string, v *yaml.Node) {
			if s, ok := p.str(path, v); ok && p.oneOf(path, v, s, "fast path mode", []string{FastPathAuto, FastPathOff}) {
				r.FastPath = s
			}
		},
	})
	p.require(path, n, seen, "address")
}

// rtpPorts parses "MIN-MAX": even MIN, MIN < MAX, 1024..65535, >= 4 ports.
func (p *parser) rtpPorts(path string, v *yaml.Node) {
	s, ok := p.str(path, v)
	if !ok {
		return
	}
	first, last, found := strings.Cut(s, "-")
	lo, err1 := strconv.Atoi(strings.TrimSpace(first))
	hi, err2 := strconv.Atoi(strings.TrimSpace(last))
	switch {
	case !found || err1 != nil || err2 != nil:
		p.problem(v.Line, path, "%q is not a range MIN-MAX such as 20000-29999", s)
	case lo < 1024 || hi > 65535:
		p.problem(v.Line, path, "range %s must lie within 1024-65535", s)
	case lo >= hi:
		p.problem(v.Line, path, "range %s is inverted or empty: MIN must be below MAX", s)
	case lo%2 != 0:
		p.problem(v.Line, path, "range %s must start on an even port (RTP uses even ports, RFC 3550 section 11)", s)
	case hi-lo+1 < 4:
		p.problem(v.Line, path, "range %s holds %d ports; at least 4 are needed", s, hi-lo+1)
	default:
		p.c.RTP.PortMin, p.c.RTP.PortMax = lo, hi
	}
}

func (p *parser) http(path string, n *yaml.Node) {
	h := &p.c.HTTP
	seen := p.mapping(path, n, fields{
		"address":    func(path string, v *yaml.Node) { p.addrPort(path, v, &h.Address) },
		"token":      func(path string, v *yaml.Node) { p.token(path, v, &h.Token) },
		"read_token": func(path string, v *yaml.Node) { p.token(path, v, &h.ReadToken) },
	})
	p.require(path, n, seen, "address", "token")
	if h.ReadToken != "" && h.ReadToken == h.Token {
		p.problemAt(path+".read_token", "must differ from token (the read token cannot change state)")
	}
}

// token accepts a bearer token of at least 8 characters.
func (p *parser) token(path string, v *yaml.Node, dst *string) {
	s, ok := p.str(path, v)
	if ok && len(s) < 8 {
		p.problem(v.Line, path, "must be at least 8 characters")
		return
	}
	*dst = s
}

func (p *parser) prompts(path string, n *yaml.Node) {
	pr := &p.c.Prompts
	file := func(dst *string) func(string, *yaml.Node) {
		return func(path string, v *yaml.Node) {
			if s, ok := p.nonEmpty(path, v); ok {
				*dst = s
			}
		}
	}
	p.mapping(path, n, fields{
		"dir":        file(&p.promptsDir),
		"welcome":    file(&pr.Welcome),
		"hold_music": file(&pr.HoldMusic),
		"language": func(path string, v *yaml.Node) {
			if s, ok := p.str(path, v); ok && p.checkName(path, v, s, nameChars, "made of a-z, 0-9, - and _") {
				pr.Language = s
			}
		},
		"sets": p.promptSets,
	})
}

func (p *parser) skills(path string, n *yaml.Node) {
	ok := p.list(path, n, func(_ int, ip string, v *yaml.Node) {
		s, ok := p.str(ip, v)
		if !ok || !p.checkName(ip, v, s, skillChars, "made of a-z, 0-9 and _") {
			return
		}
		if slices.Contains(p.c.Skills, s) {
			p.problem(v.Line, ip, "skill %q is listed twice", s)
			return
		}
		p.c.Skills = append(p.c.Skills, s)
	})
	if ok && len(n.Content) == 0 {
		p.problem(n.Line, path, "must list at least one skill")
	}
	p.skillsBad = !ok
}

// named decodes a mapping whose keys are names chosen by the file (trees,
// nodes, hours sets); duplicate keys are problems. A null value counts as
// an empty mapping. It returns false when n is not a mapping.
func (r *reader) named(path string, n *yaml.Node, item func(key, path string, k, v *yaml.Node)) bool {
	if isNull(n) {
		return true
	}
	if n.Kind != yaml.MappingNode {
		r.wrongType(path, n, "a mapping")
		return false
	}
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
			r.problem(k.Line, path, "keys must be plain names, not %s", describe(k))
			continue
		}
		kp := join(path, k.Value)
		if l, dup := first[k.Value]; dup {
			r.problem(k.Line, kp, "duplicate key (first at line %d)", l)
			continue
		}
		first[k.Value] = k.Line
		r.at[kp] = k.Line
		item(k.Value, kp, k, v)
	}
	return true
}

// boolean accepts true or false.
func (r *reader) boolean(path string, n *yaml.Node) (bool, bool) {
	s, ok := r.scalar(path, n, "true or false", "!!bool")
	if !ok {
		return false, false
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		r.problem(n.Line, path, "must be true or false, not %q", s)
		return false, false
	}
	return b, true
}

// records decodes the records section: the journal's sync policy.
func (p *parser) records(path string, n *yaml.Node) {
	r := &p.c.Records
	p.mapping(path, n, fields{
		"fsync": func(path string, v *yaml.Node) {
			if s, ok := p.str(path, v); ok && p.oneOf(path, v, s, "fsync policy", []string{FsyncAlways, FsyncInterval, FsyncNever}) {
				r.Fsync = s
			}
		},
		"fsync_interval": func(path string, v *yaml.Node) { setDuration(&p.reader, &r.FsyncInterval, path, v, time.Millisecond) },
		"redis_stream":   p.recordStream,
		"webhook":        p.webhook,
		"missed_window":  func(path string, v *yaml.Node) { setDuration(&p.reader, &r.MissedWindow, path, v, time.Minute) },
	})
}

// wallboard decodes the wallboard section: its title and the thresholds
// of its warning lights.
func (p *parser) wallboard(path string, n *yaml.Node) {
	w := &p.c.Wallboard
	pct := func(dst *int) func(string, *yaml.Node) {
		return func(path string, v *yaml.Node) {
			if i, ok := p.integer(path, v, 1, 100); ok {
				*dst = i
			}
		}
	}
	p.mapping(path, n, fields{
		"title":                func(path string, v *yaml.Node) { w.Title, _ = p.nonEmpty(path, v) },
		"service_level_yellow": pct(&w.ServiceLevelYellow),
		"service_level_red":    pct(&w.ServiceLevelRed),
		"longest_wait_yellow":  func(path string, v *yaml.Node) { setDuration(&p.reader, &w.LongestWaitYellow, path, v, time.Second) },
		"longest_wait_red":     func(path string, v *yaml.Node) { setDuration(&p.reader, &w.LongestWaitRed, path, v, time.Second) },
	})
	if w.ServiceLevelRed > w.ServiceLevelYellow {
		p.problem(n.Line, path, "service_level_red (%d%%) must not be above service_level_yellow (%d%%)", w.ServiceLevelRed, w.ServiceLevelYellow)
	}
	if w.LongestWaitRed < w.LongestWaitYellow {
		p.problem(n.Line, path, "longest_wait_red (%v) must not be below longest_wait_yellow (%v)", w.LongestWaitRed, w.LongestWaitYellow)
	}
}

// webhook decodes records.webhook: an http(s) URL, a secret of at least
// 16 characters, a timeout.
func (p *parser) webhook(path string, n *yaml.Node) {
	wh := &p.c.Records.Webhook
	seen := p.mapping(path, n, fields{
		"url": func(path string, v *yaml.Node) {
			s, ok := p.nonEmpty(path, v)
			if !ok {
				return
			}
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				p.problem(v.Line, path, "%q is not an http:// or https:// URL", s)
				return
			}
			wh.URL = s
		},
		"secret": func(path string, v *yaml.Node) {
			if s, ok := p.nonEmpty(path, v); ok {
				if len(s) < 16 {
					p.problem(v.Line, path, "the secret must be at least 16 characters (the receiver checks signatures with it)")
					return
				}
				wh.Secret = s
			}
		},
		"timeout": func(path string, v *yaml.Node) { setDuration(&p.reader, &wh.Timeout, path, v, 100*time.Millisecond) },
	})
	p.require(path, n, seen, "url", "secret")
}

// recordStream decodes records.redis_stream.
func (p *parser) recordStream(path string, n *yaml.Node) {
	st := &p.c.Records.Stream
	seen := p.mapping(path, n, p.redisConn(&st.Address, &st.Password, &st.DB, fields{
		"key":     func(path string, v *yaml.Node) { st.Key, _ = p.nonEmpty(path, v) },
		"max_len": func(path string, v *yaml.Node) { st.MaxLen, _ = p.integer(path, v, 1, 100000000) },
	}))
	p.require(path, n, seen, "address")
}
