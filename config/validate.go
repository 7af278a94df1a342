package config

import (
	"fmt"
	"net/netip"
	"slices"
)

// wellKnownEmergency are China's emergency numbers (police, fire, ambulance,
// traffic police): never inbound lines, whether or not emergency lists them.
var wellKnownEmergency = []string{"110", "119", "120", "122"}

// validate checks the rules across fields and sections. Values that failed
// their own check are zero and skipped here.
func (p *parser) validate() {
	p.checkSkillRefs()
	p.checkNumbers()
	p.checkLineTargets()
	p.checkTrunks()
	p.checkDemoLoopback()
	p.checkAddressClash()
	p.checkTLS()
	p.validateIVR()
	p.validateACD()
	p.validateDirectory()
	p.checkMonitorQueues()
	if se, least := p.c.SIP.SeatSessionExpires, p.c.SIP.MinSessionExpires; se > 0 && se < least {
		p.problemAt("sip.seat_session_expires", "%s is below sip.min_session_expires (%s)", se, least)
	}
	if p.c.CallingHours != "" {
		p.knownHours("calling_hours", p.c.CallingHours)
	}
}

// checkMonitorQueues: a supervisor's monitor_queues name queues.
func (p *parser) checkMonitorQueues() {
	for i, s := range p.c.Seats {
		for j, q := range s.MonitorQueues {
			if _, ok := p.c.Queue(q); !ok && !slices.Contains(p.c.Skills, q) {
				p.problemAt(fmt.Sprintf("seats[%d].monitor_queues[%d]", i, j), "unknown queue %q", q)
			}
		}
	}
}

func (p *parser) checkSkillRefs() {
	if p.skillsBad {
		return
	}
	known := func(path, skill string) {
		if skill != "" && !slices.Contains(p.c.Skills, skill) {
			p.problemAt(path, "unknown skill %q (skills: %v)", skill, p.c.Skills)
		}
	}
	for i, l := range p.c.Lines {
		known(fmt.Sprintf("lines[%d].skill", i), l.Skill)
	}
	for i, s := range p.c.Seats {
		for j, sl := range s.Skills {
			known(fmt.Sprintf("seats[%d].skills[%d]", i, j), sl.Skill)
		}
	}
}

// checkNumbers keeps lines, emergency numbers and extensions unique and apart.
func (p *parser) checkNumbers() {
	owner := map[string]string{} // number -> path of its first use
	claim := func(path, number, what string) {
		if number == "" {
			return
		}
		if first, ok := owner[number]; ok {
			p.problemAt(path, "%s %s is already used by %s (line %d)", what, number, first, p.lineOf(first))
			return
		}
		owner[number] = path
	}
	for i, e := range p.c.Emergency {
		claim(fmt.Sprintf("emergency[%d].number", i), e.Number, "emergency number")
	}
	for i, l := range p.c.Lines {
		path := fmt.Sprintf("lines[%d].number", i)
		if slices.Contains(wellKnownEmergency, l.Number) {
			p.problemAt(path, "%s is an emergency number; emergency numbers are linkage targets, never inbound lines", l.Number)
			continue
		}
		if first, ok := owner[l.Number]; ok && l.Number != "" && isEmergencyPath(first) {
			p.problemAt(path, "%s is an emergency number (%s, line %d); emergency numbers are never inbound lines",
				l.Number, first, p.lineOf(first))
			continue
		}
		claim(path, l.Number, "line")
	}
	for i, s := range p.c.Seats {
		claim(fmt.Sprintf("seats[%d].extension", i), s.Extension, "extension")
	}
}

func isEmergencyPath(path string) bool { return len(path) > 10 && path[:10] == "emergency[" }

func (p *parser) checkLineTargets() {
	for i, l := range p.c.Lines {
		if l.Mode == "" {
			continue
		}
		ip := fmt.Sprintf("lines[%d]", i)
		_, hasTargetKey := p.at[ip+".target"]
		_, hasRingKey := p.at[ip+".ring_timeout"]
		switch {
		case hasTarget(l.Mode) && !hasTargetKey:
			p.problemAt(ip, "a %s line needs a target (the department's sip: URI)", l.Mode)
		case !hasTarget(l.Mode) && hasTargetKey:
			p.problemAt(ip+".target", "only parallel and subcentre lines have a target, not a %s line", l.Mode)
		}
		if !hasTarget(l.Mode) && hasRingKey {
			p.problemAt(ip+".ring_timeout", "only parallel and subcentre lines have a ring_timeout, not a %s line", l.Mode)
		}
	}
}

func (p *parser) checkTrunks() {
	names := map[string]string{}
	for i, t := range p.c.Trunks {
		ip := fmt.Sprintf("trunks[%d]", i)
		if first, ok := names[t.Name]; ok && t.Name != "" {
			p.problemAt(ip+".name", "trunk %q is already defined (line %d)", t.Name, p.lineOf(first))
		}
		names[t.Name] = ip + ".name"
		for j, number := range t.Lines {
			if _, ok := p.c.Line(number); number != "" && !ok {
				p.problemAt(fmt.Sprintf("%s.lines[%d]", ip, j), "%s is not one of the lines", number)
			}
		}
		p.checkOverlaps(i)
	}
}

// checkOverlaps refuses ACL prefixes of trunk i that overlap an earlier
// trunk's: every source address must belong to one trunk only.
func (p *parser) checkOverlaps(i int) {
	for k, pfx := range p.c.Trunks[i].ACL {
		for j := range i {
			for _, other := range p.c.Trunks[j].ACL {
				if pfx.Overlaps(other) {
					p.problemAt(fmt.Sprintf("trunks[%d].acl[%d]", i, k),
						"%s overlaps %s of trunk %q (line %d); an address must belong to one trunk only",
						pfx, other, p.c.Trunks[j].Name, p.lineOf(fmt.Sprintf("trunks[%d]", j)))
				}
			}
		}
	}
}

// checkDemoLoopback: demo passwords are public, so with any of them
// configured every listening address must be loopback.
func (p *parser) checkDemoLoopback() {
	i := slices.IndexFunc(p.c.Seats, Seat.IsDemo)
	if i < 0 {
		return
	}
	seat := fmt.Sprintf("seats[%d].password", i)
	addrs := []struct {
		path string
		addr netip.Addr
		text string
	}{
		{"sip.address", p.c.SIP.Address.Addr(), p.c.SIP.Address.String()},
		{"rtp.address", p.c.RTP.Address, p.c.RTP.Address.String()},
		{"rtp.address6", p.c.RTP.Address6, p.c.RTP.Address6.String()},
		{"http.address", p.c.HTTP.Address.Addr(), p.c.HTTP.Address.String()},
	}
	for _, a := range addrs {
		if a.addr.IsValid() && !a.addr.IsLoopback() {
			p.problemAt(a.path, "demo passwords are configured (%s, line %d); refusing to listen on non-loopback address %s",
				seat, p.lineOf(seat), a.text)
		}
	}
}

// checkAddressClash refuses SIP and HTTP on one TCP port, and a SIP UDP port
// inside the RTP range on the same address.
func (p *parser) checkAddressClash() {
	s, h, r := p.c.SIP, p.c.HTTP, p.c.RTP
	sameHost := func(a, b netip.Addr) bool { return a == b || a.IsUnspecified() || b.IsUnspecified() }
	if s.Address.Port() != 0 && s.Address.Port() == h.Address.Port() && s.HasTransport(TransportTCP) &&
		sameHost(s.Address.Addr(), h.Address.Addr()) && h.Address.IsValid() {
		p.problemAt("http.address", "%s clashes with sip.address %s (both listen on TCP)", h.Address, s.Address)
	}
	port := int(s.Address.Port())
	if port >= r.PortMin && port <= r.PortMax && s.HasTransport(TransportUDP) && r.Address.IsValid() &&
		sameHost(s.Address.Addr(), r.Address) {
		p.problemAt("sip.address", "port %d lies inside rtp.ports %d-%d on the same address (both UDP)", port, r.PortMin, r.PortMax)
	}
}
