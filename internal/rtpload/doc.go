// Package rtpload is a loopback RTP load generator for benchmarks: it plays
// the caller and the seat of many bridged calls at once, so that the
// engine's relay, not the generator, is what a benchmark measures.
//
// One UDP socket stands for every caller and another for every seat. Each
// socket learns a stream from the first packet the engine sends it (the
// greeting on the caller side, relayed audio on the seat side) and from then
// on sends one 20 ms G.711 frame per stream per tick of one shared pacer,
// back to where that stream came from (symmetric RTP). Every frame carries
// its side, stream and counter in the payload, so what arrives on the other
// side after the relay is counted per stream and losses are exact. There is
// one goroutine per socket reading and one pacing all sends: no goroutine,
// channel or timer per packet or per stream, and no allocation per packet.
//
// It owns only its two sockets and its counters; it imports nothing of
// hotline, and hotline's own packages must not import it (benchmarks and the
// rtpload command only).
package rtpload
