// Package supervisor owns what a supervisor or a monitoring system sees of the
// engine: the metrics facade (every hotline_ collector, on a registry of its
// own) and the HTTP listener (/healthz, /metrics, the JSON API, and routes
// later features add through Server.Handle).
//
// It must not import sip, media, call, acd or queue: the engine feeds it
// through Metrics' typed methods, a func returning RTPStats and the
// Snapshotter interface declared here. It imports nothing else of hotline's.
package supervisor
