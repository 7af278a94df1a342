package sip

import (
	"sync"
	"time"
)

// maxNonceEntries bounds the nonce-count table. Entries are added only for
// credentials that were right, so it holds at most the successful
// authentications of one nonce lifetime.
const maxNonceEntries = 10000

// nonceCounts remembers the highest nc accepted for each nonce (RFC 7616
// section 3.4: the server checks that nc grows, to detect replays). Safe for
// concurrent use.
//
// Nonces are stateless HMACs, so a nonce not in the table would look
// unused; when the table is full its oldest entry goes and floor remembers
// that nonces issued at or before it may have been used: such a nonce not
// in the table is refused (the client gets a fresh one) rather than
// accepted twice.
type nonceCounts struct {
	ttl time.Duration

	mu    sync.Mutex
	seen  map[string]nonceUse
	floor time.Time
}

type nonceUse struct {
	nc     uint32
	issued time.Time
}

func newNonceCounts(ttl time.Duration) *nonceCounts {
	return &nonceCounts{ttl: ttl, seen: make(map[string]nonceUse)}
}

// fresh reports whether nc is above every count accepted for nonce.
func (n *nonceCounts) fresh(nonce string, issued time.Time, nc uint32) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	u, ok := n.seen[nonce]
	if !ok {
		return issued.After(n.floor)
	}
	return nc > u.nc
}

// use records nc for nonce (after fresh said yes and the password was
// right). now drops expired entries when the table is full.
func (n *nonceCounts) use(nonce string, issued time.Time, nc uint32, now time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.seen[nonce]; !ok && len(n.seen) >= maxNonceEntries {
		n.makeRoomLocked(now)
	}
	n.seen[nonce] = nonceUse{nc: nc, issued: issued}
}

// makeRoomLocked drops expired nonces, or failing that the oldest one,
// raising floor to its issue time.
func (n *nonceCounts) makeRoomLocked(now time.Time) {
	var oldest string
	var at time.Time
	for k, u := range n.seen {
		if now.Sub(u.issued) > n.ttl {
			delete(n.seen, k)
			continue
		}
		if oldest == "" || u.issued.Before(at) {
			oldest, at = k, u.issued
		}
	}
	if len(n.seen) < maxNonceEntries {
		return
	}
	delete(n.seen, oldest)
	if at.After(n.floor) {
		n.floor = at
	}
}

// sweep drops nonces past their lifetime (they are refused as stale anyway).
func (n *nonceCounts) sweep(now time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for k, u := range n.seen {
		if now.Sub(u.issued) > n.ttl {
			delete(n.seen, k)
		}
	}
}

// len is the table's size (tests).
func (n *nonceCounts) len() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.seen)
}
