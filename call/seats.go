package call

import "sync"

// seatPool keeps the seats busy on seat-to-seat (internal) calls, which do
// not go through the ACD: a seat is never rung for a second internal call
// while on one. Queue calls are the ACD's (acd.go).
type seatPool struct {
	mu   sync.Mutex
	busy map[string]string // extension -> call id holding it
}

func newSeatPool() *seatPool { return &seatPool{busy: make(map[string]string)} }

// seatOffer is a seat reserved for a call, with where its phone is.
type seatOffer struct {
	ext     string
	contact string
}

// reserve marks a seat busy for c: false if another internal call holds it.
func (p *seatPool) reserve(ext string, c *Call) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, taken := p.busy[ext]; taken {
		return false
	}
	p.busy[ext] = c.id
	return true
}

// held reports whether an internal call holds ext (the ACD offers it no
// queue call meanwhile).
func (p *seatPool) held(ext string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, taken := p.busy[ext]
	return taken
}

// release frees a seat held by c.
func (p *seatPool) release(ext string, c *Call) {
	p.mu.Lock()
	if p.busy[ext] == c.id {
		delete(p.busy, ext)
	}
	p.mu.Unlock()
}
