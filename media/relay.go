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
	s.kernelRecheck()
}

// KeepDTMF with on stops s relaying the RFC 4733 events it receives: they
// still reach OnDTMF, and go no further (an agent's transfer keys must not
// reach the caller). Safe from any goroutine.
func (s *Session) KeepDTMF(on bool) { s.keepDTMF.Store(on) }

// Bridge relays a to b and b to a.
func Bridge(a, b *Session) {
	a.RelayTo(b)
	b.RelayTo(a)
}
