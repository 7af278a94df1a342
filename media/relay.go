package media

// RelayTo makes everything s receives (audio, and RFC 4733 events if dst
// negotiated telephone-event) go out on dst, transcoding PCMU<->PCMA when
// the legs' codecs differ; nil stops relaying. While dst plays a prompt or
// sends DTMF itself, relayed packets are dropped: the player wins, which is
// how music on hold works. Safe from any goroutine; takes effect from the
// next packet.
func (s *Session) RelayTo(dst *Session) {
	if s.closed.Load() {
		return
	}
	s.relay.Store(dst)
}

// Bridge relays a to b and b to a.
func Bridge(a, b *Session) {
	a.RelayTo(b)
	b.RelayTo(a)
}
