// Package media moves a call's audio: one RTP session per leg (a UDP socket
// from the configured port range and the single goroutine that reads it),
// G.711 µ-law/A-law, RFC 4733 telephone events, prompt playback paced by one
// shared 20 ms clock, and the relay bridge that joins two legs (rewriting
// SSRC, sequence numbers and timestamps, transcoding PCMU<->PCMA).
//
// It knows RTP, codecs and timing, and nothing of SIP or SDP: it must not
// import the sip package (or any other hotline package). The call
// orchestrator turns SDP into Params and drives sessions through the methods
// here.
//
// The packet path (socket read -> parse -> DTMF detection -> relay write)
// runs on the receiving session's reader goroutine, allocates nothing in
// steady state and uses no channel, goroutine or timer per packet.
//
// Locks: Manager.mu, Session.outMu (the output stream and its socket
// writes), Session.txMu (DTMF sender queue) and the timeout timer's mutex
// are each held alone, never two at once; a relay write holds only the
// destination session's outMu. Everything the packet path reads per
// packet is an atomic.
package media
