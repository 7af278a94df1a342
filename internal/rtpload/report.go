package rtpload

import (
	"fmt"
	"time"
)

// Direction is one direction of media through the relay: frames the
// From side sent, and what of them the other side received.
type Direction struct {
	From    string // "caller" (caller to seat) or "seat" (seat to caller)
	Streams int    // streams the From side learned and sent on
	Sent    uint64 // frames sent (including those sent before the bridge was up)
	Relayed uint64 // frames that came out of the relay on the other side
	Lost    uint64 // frames missing between a stream's first relayed frame and its last sent one
	Silent  int    // streams that sent but of which nothing came through
}

// LossRatio is Lost over the frames that should have come through.
func (d Direction) LossRatio() float64 {
	if d.Relayed+d.Lost == 0 {
		return 0
	}
	return float64(d.Lost) / float64(d.Relayed+d.Lost)
}

func (d Direction) String() string {
	return fmt.Sprintf("%s->: %d streams, %d sent, %d relayed, %d lost (%.4f%%), %d silent",
		d.From, d.Streams, d.Sent, d.Relayed, d.Lost, 100*d.LossRatio(), d.Silent)
}

// Report is the generator's account so far. Losses are final only after
// StopSending and a short drain.
type Report struct {
	CallerToSeat, SeatToCaller Direction
	Foreign                    uint64        // untagged packets received (the engine's prompts and music)
	Invalid                    uint64        // packets that were not RTP
	Overflow                   uint64        // packets from sources beyond MaxStreams
	SendErrors                 uint64        // failed sends
	Ticks, LateTicks           uint64        // pacer ticks, and those that came over 1.5 ticks late
	MaxTickWork                time.Duration // the longest time one tick spent sending
}

// Report reads the counters.
func (g *Generator) Report() Report {
	c, s := g.sides[callerSide], g.sides[seatSide]
	return Report{
		CallerToSeat: c.direction(), SeatToCaller: s.direction(),
		Foreign:    c.foreign.Load() + s.foreign.Load(),
		Invalid:    c.invalid.Load() + s.invalid.Load(),
		Overflow:   c.overflow.Load() + s.overflow.Load(),
		SendErrors: c.sendErrors.Load() + s.sendErrors.Load(),
		Ticks:      g.ticks.Load(), LateTicks: g.late.Load(),
		MaxTickWork: time.Duration(g.maxWork.Load()),
	}
}

func (r Report) String() string {
	return fmt.Sprintf("%v; %v; foreign %d, invalid %d, overflow %d, send errors %d, ticks %d (late %d, max work %v)",
		r.CallerToSeat, r.SeatToCaller, r.Foreign, r.Invalid, r.Overflow, r.SendErrors,
		r.Ticks, r.LateTicks, r.MaxTickWork.Round(time.Microsecond))
}
