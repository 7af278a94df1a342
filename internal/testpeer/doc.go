// Package testpeer owns the harness that drives real SIP and RTP peers in
// hotline's tests: SIPp processes (carrier calls, registrations, load),
// baresip seats (agent softphones under ctrl_tcp control), a Go RTP endpoint
// (the caller's ear and mouth while SIPp signals) and the audio checks that
// prove what each side heard.
//
// It is imported only by _test.go files. It must not import any hotline
// package: it talks to the engine over loopback sockets only, exactly as a
// carrier or a phone would. Every process it starts is stopped by PID in
// t.Cleanup; every socket it opens binds 127.0.0.1.
package testpeer
