// Package media moves a call's audio: one RTP session per leg (a UDP socket
// from the configured port range and the single goroutine that reads it),
// G.711 µ-law/A-law, RFC 4733 telephone events, prompt playback paced by one
// shared 20 ms clock, the relay bridge that joins two legs (rewriting
// SSRC, sequence numbers and timestamps, transcoding PCMU<->PCMA), and the
// mixing room for calls of more than two legs.
//
// A Room joins more than two legs: a per-call set of sessions with a
// hear/speak matrix (each leg's Mode: Talk for the parties and a barging
// supervisor, Listen and Whisper for monitors; SetHears for single
// cells). With two legs it only points the relays; from three on, each
// leg's reader queues its decoded frames (a few, for jitter) and on each
// tick of the shared pacer the room sums, for every listener, the frames
// of the legs it hears (never its own) with saturation, encodes the sum in
// the listener's codec and sends it on the listener's one output stream.
// A leg without a fresh frame is silence. Back at two legs, the relay
// returns. The room adds no goroutine, timer or channel.
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
// The kernel fast path (kernel.go, package fastpath), where it loads: a
// bridged same-codec leg whose packets are plain goes to an eBPF program
// that rewrites and forwards them in the kernel, as the relay would; the
// leg returns to user space whenever anything else is asked of it (a
// prompt or DTMF sent into it, recording, mixing, a new address, hold,
// the end of the relay), and the kernel's counters feed the RTP timeout
// and the statistics.
//
// Locks: Manager.mu, Session.outMu (the output stream and its socket
// writes), Session.txMu (DTMF sender queue), the timeout timer's mutex,
// Room.mu (its legs and matrix) and roomLeg.mu (a leg's queued frames) are
// each held alone, never two at once, except for kernelPath.mu: it is
// taken under Room.mu or a Recorder's mu (a leg leaving the kernel) and
// takes a Session.outMu under it (Room.mu, Recorder.mu → kernelPath.mu →
// Session.outMu). A relay write or a mixed frame's write holds only the
// destination session's outMu. Everything the packet
// path reads per packet is an atomic, but for the mixing room's leg queue.
package media
