// Package records owns hotline's call records: the one JSON object per call
// that seeds a ticket (工单) in the ticket system, and the daily JSON-lines
// files they are appended to (DATA/records/YYYY-MM-DD.jsonl).
//
// It imports nothing of hotline's (not even config): the call orchestrator
// fills a Record when a call ends and hands it to a Writer. Sinks other than
// the file (Redis Stream, webhook) belong here too when they arrive.
package records
