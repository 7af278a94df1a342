package call

import (
	"sort"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/config"
)

// seatPool is the interim seat chooser of the call-path foundation: the first
// free registered seat, by extension, takes the caller who has waited longest.
// A seat is reserved for one call before its phone rings and is never offered
// two calls at once. The skill-based ACD (acd/, queue/) replaces this.
type seatPool struct {
	e *Engine

	mu      sync.Mutex
	order   []string          // configured extensions, sorted
	names   map[string]string // extension -> display name
	busy    map[string]string // extension -> call id holding it
	waiting []*Call           // callers waiting for a seat, oldest first
}

func newSeatPool(e *Engine) *seatPool {
	return &seatPool{e: e, busy: make(map[string]string), names: make(map[string]string)}
}

func (p *seatPool) configure(cfg *config.Config) {
	order := make([]string, 0, len(cfg.Seats))
	names := make(map[string]string, len(cfg.Seats))
	for _, s := range cfg.Seats {
		order = append(order, s.Extension)
		names[s.Extension] = s.Name
	}
	sort.Strings(order)
	p.mu.Lock()
	p.order, p.names = order, names
	p.mu.Unlock()
}

// seatOffer is a seat reserved for a call, with where its phone is.
type seatOffer struct {
	ext     string
	contact string
}

// acquire reserves a free registered seat the call has not tried yet, or puts
// the call at the back of the waiting line (front when again is set: a caller
// whose seat did not answer keeps their place).
func (p *seatPool) acquire(c *Call, again bool) (seatOffer, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if o, ok := p.freeSeatLocked(c); ok {
		return o, true
	}
	p.removeWaitingLocked(c)
	if again {
		p.waiting = append([]*Call{c}, p.waiting...)
	} else {
		p.waiting = append(p.waiting, c)
	}
	return seatOffer{}, false
}

// freeSeatLocked reserves the first free registered seat c has not tried.
func (p *seatPool) freeSeatLocked(c *Call) (seatOffer, bool) {
	for _, ext := range p.order {
		if _, taken := p.busy[ext]; taken || c.tried[ext] {
			continue
		}
		reg, ok := p.e.opts.Seats.Lookup(ext)
		if !ok {
			continue
		}
		p.busy[ext] = c.id
		return seatOffer{ext: ext, contact: reg.Contact}, true
	}
	return seatOffer{}, false
}

// markTried notes that c has rung ext, so ext is not offered to c again
// until clearTried.
func (p *seatPool) markTried(c *Call, ext string) {
	p.mu.Lock()
	c.tried[ext] = true
	p.mu.Unlock()
}

// hasTried reports whether c has rung any seat since the last clearTried.
func (p *seatPool) hasTried(c *Call) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(c.tried) > 0
}

// clearTried lets c be offered every seat again.
func (p *seatPool) clearTried(c *Call) {
	p.mu.Lock()
	clear(c.tried)
	p.mu.Unlock()
}

// reserve marks a named seat busy for c (seat-to-seat calls): false if busy.
func (p *seatPool) reserve(ext string, c *Call) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, taken := p.busy[ext]; taken {
		return false
	}
	p.busy[ext] = c.id
	return true
}

// release frees a seat held by c and offers free seats to waiting callers.
func (p *seatPool) release(ext string, c *Call) {
	p.mu.Lock()
	if p.busy[ext] == c.id {
		delete(p.busy, ext)
	}
	p.mu.Unlock()
	p.offerWaiting()
}

// leave takes c out of the waiting line.
func (p *seatPool) leave(c *Call) {
	p.mu.Lock()
	p.removeWaitingLocked(c)
	p.mu.Unlock()
}

func (p *seatPool) removeWaitingLocked(c *Call) {
	for i, w := range p.waiting {
		if w == c {
			p.waiting = append(p.waiting[:i], p.waiting[i+1:]...)
			return
		}
	}
}

// offerWaiting hands free seats to waiting callers in arrival order; a
// caller who already tried every free seat is passed over, not blocked on.
func (p *seatPool) offerWaiting() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := 0; i < len(p.waiting); {
		c := p.waiting[i]
		o, ok := p.freeSeatLocked(c)
		if !ok {
			i++
			continue
		}
		p.waiting = append(p.waiting[:i], p.waiting[i+1:]...)
		if !c.tryPost(evSeat{offer: o}) {
			delete(p.busy, o.ext)
		}
	}
}

// SeatInfo is one row of the agents snapshot.
type SeatInfo struct {
	Extension  string    `json:"extension"`
	Name       string    `json:"name"`
	Registered bool      `json:"registered"`
	Contact    string    `json:"contact,omitempty"`
	Expires    time.Time `json:"expires,omitzero"`
	State      string    `json:"state"`
	CallID     string    `json:"call_id,omitempty"`
}

func (p *seatPool) snapshot() []SeatInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]SeatInfo, 0, len(p.order))
	for _, ext := range p.order {
		si := SeatInfo{Extension: ext, Name: p.names[ext], State: "offline"}
		if reg, ok := p.e.opts.Seats.Lookup(ext); ok {
			si.Registered, si.Contact, si.Expires, si.State = true, reg.Contact, reg.Expires, "idle"
		}
		if id, ok := p.busy[ext]; ok {
			si.State, si.CallID = "busy", id
		}
		out = append(out, si)
	}
	return out
}

// QueueInfo is one row of the queues snapshot.
type QueueInfo struct {
	Name    string   `json:"name"`
	Waiting int      `json:"waiting"`
	Calls   []string `json:"calls"`
}

func (p *seatPool) queueSnapshot() []QueueInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	q := QueueInfo{Name: "general", Waiting: len(p.waiting), Calls: make([]string, 0, len(p.waiting))}
	for _, c := range p.waiting {
		q.Calls = append(q.Calls, c.id)
	}
	return []QueueInfo{q}
}
