package records

import "encoding/json"

// Transfer is one attempt to bring another party into the call: a department
// hotline (parallel answering, sub-centre) or an emergency service.
//
// An agent's transfer (issue 10) also names the directory entry, when it
// started, was answered and the agent left, and its result: answered,
// completed (consult handed over), cancelled, no_answer, busy, failed.
type Transfer struct {
	Target     string `json:"target"`   // SIP URI or number called
	Mode       string `json:"mode"`     // how it was brought in (e.g. blind, consult, conference, parallel)
	RingMs     int64  `json:"ring_ms"`  // from the outbound INVITE to answer or give-up
	Answered   bool   `json:"answered"` // whether the target answered
	Name       string `json:"name,omitempty"`
	Kind       string `json:"kind,omitempty"` // department, subcentre, emergency, centre
	StartedAt  *Time  `json:"started_at,omitempty"`
	AnsweredAt *Time  `json:"answered_at,omitempty"`
	Result     string `json:"result,omitempty"`
	LeftAt     *Time  `json:"left_at,omitempty"`  // the agent left the call to the target
	Fallback   string `json:"fallback,omitempty"` // applied when not answered: agent, ticket, queue:NAME
}

// RecordingPause is a paused stretch of a recording: from AtMs into the
// recording, Ms long, by the agent's keys (*7, *9) or the API.
type RecordingPause struct {
	AtMs int64  `json:"at_ms"`
	Ms   int64  `json:"ms"`
	By   string `json:"by"`
}

// Monitor is one supervisor's monitoring of the call: the mode (listen,
// whisper, barge, takeover; a change of mode starts a new entry) and when.
type Monitor struct {
	Supervisor string `json:"supervisor"`
	Mode       string `json:"mode"`
	From       Time   `json:"from"`
	To         *Time  `json:"to"`
}

// Record is everything a ticket needs about one call. It is filled by the
// call's goroutine when the call ends and written once by a Writer.
//
// In JSON, IVRPath and Transfers are always lists ([] when empty, never
// null); OfferedAt, AnsweredAt and SurveyScore are null when the call never
// got there; DTMF is left out when empty.
type Record struct {
	CallID string `json:"call_id"`
	// Version numbers the record's updates (1: the record a call ends
	// with); a consumer keeps the highest of a call_id.
	Version int `json:"version"`
	// SIPCallID is the Call-ID of the caller's INVITE (the carrier's), to
	// match the carrier's own records.
	SIPCallID  string     `json:"sip_call_id,omitempty"`
	Priority   int        `json:"priority"`
	Centre     string     `json:"centre"`
	Caller     string     `json:"caller"`
	Dialled    string     `json:"dialled"`
	LineMode   string     `json:"line_mode"`
	IVRPath    []string   `json:"ivr_path"`
	Queue      string     `json:"queue"`
	Skill      string     `json:"skill"`
	StartedAt  Time       `json:"started_at"`
	QueuedAt   *Time      `json:"queued_at,omitempty"` // entered the ACD queue
	OfferedAt  *Time      `json:"offered_at"`
	AnsweredAt *Time      `json:"answered_at"`
	EndedAt    Time       `json:"ended_at"`
	WaitMs     int64      `json:"wait_ms"`
	TalkMs     int64      `json:"talk_ms"`
	Agent      string     `json:"agent"`
	Transfers  []Transfer `json:"transfers"`
	Monitors   []Monitor  `json:"monitors,omitempty"`
	// Dispatch is "ticket" when a transfer whose entry falls back to a
	// ticket was not answered: the ticket system dispatches the matter to
	// the department (工单派转).
	Dispatch string `json:"dispatch,omitempty"`
	// DispatchTo names the directory entry the ticket goes to.
	DispatchTo string `json:"dispatch_to,omitempty"`
	// Category is what the caller chose in the IVR (its tags, in order,
	// comma-separated: consult, complaint, help, ...): the ticket's kind.
	Category string `json:"category,omitempty"`
	// Recording is the call's stereo WAV (caller left, centre right),
	// relative to the data directory ("" not recorded); RecordingStatus
	// is complete, or failed when the disk stopped it (the file holds what
	// was written); RecordingPauses the stretches paused (silence in the
	// file), at an offset into it.
	Recording       string           `json:"recording"`
	RecordingMs     int64            `json:"recording_ms,omitempty"`
	RecordingSHA256 string           `json:"recording_sha256,omitempty"`
	RecordingStatus string           `json:"recording_status,omitempty"`
	RecordingPauses []RecordingPause `json:"recording_pauses,omitempty"`
	// SurveyScore is the caller's grade (1 非常满意 … 5 非常不满意) and
	// SurveyAt when it was keyed; null when not asked or not answered.
	SurveyScore *int     `json:"survey_score"`
	SurveyAt    *Time    `json:"survey_at,omitempty"`
	EndReason   string   `json:"end_reason"`
	HangupBy    string   `json:"hangup_by"` // caller|agent|system
	Codec       string   `json:"codec"`
	DTMF        []string `json:"dtmf,omitempty"`
	// SeatsRung are the seats the call was offered to, SeatsMissed those
	// that did not answer it; WithinServiceLevel says whether a seat
	// answered within the queue's service level (15 s by default).
	SeatsRung          []string `json:"seats_rung,omitempty"`
	SeatsMissed        []string `json:"seats_missed,omitempty"`
	WithinServiceLevel bool     `json:"within_service_level"`
	// CallbackOf: this call is the queue callback that call_id asked for
	// (line_mode "callback"); the asking call ended with end_reason
	// "callback".
	CallbackOf string `json:"callback_of,omitempty"`
	// Purpose is why an outbound call (line_mode "outbound", placed by
	// POST /api/v1/outbound) called the citizen: followup (回访) or missed
	// (漏接回拨); OutboundOf the earlier call it follows up, when given.
	Purpose    string `json:"purpose,omitempty"`
	OutboundOf string `json:"outbound_of,omitempty"`
}

// recordJSON has Record's fields and tags but not its methods, so that
// MarshalJSON can delegate to encoding/json without recursing.
type recordJSON Record

// MarshalJSON encodes r with empty lists written as [] rather than null.
func (r Record) MarshalJSON() ([]byte, error) {
	if r.IVRPath == nil {
		r.IVRPath = []string{}
	}
	if r.Transfers == nil {
		r.Transfers = []Transfer{}
	}
	return json.Marshal(recordJSON(r))
}

// Queue outcomes: what became of a call that reached a queue. Reports and
// metrics both classify by QueueOutcome, so their figures agree.
const (
	OutcomeAnswered  = "answered"  // a seat answered it
	OutcomeAbandoned = "abandoned" // the caller hung up waiting or while a seat rang
	OutcomeOverflow  = "overflow"  // moved on: max_wait or a full queue (a message, refused busy), or a department rung
	OutcomeCallback  = "callback"  // the caller hung up keeping a place for a callback (or had one already)
	OutcomeOther     = "other"     // lost in a crash, shut down, media lost, an engine fault, ...
)

// QueueOutcome classifies a call that reached a queue (QueuedAt or
// OfferedAt set) by its end. A call that was not answered by a seat and
// rang a department (a queue's overflow target, or a line's department in
// parallel) counts as overflow whatever its end reason: the queue did not
// serve it.
func QueueOutcome(r *Record) string {
	switch {
	case r.AnsweredAt != nil && r.Agent != "":
		return OutcomeAnswered
	case r.EndReason == "abandoned":
		return OutcomeAbandoned
	case r.EndReason == "overflow" || len(r.Transfers) > 0:
		return OutcomeOverflow
	case r.EndReason == "callback" || r.EndReason == "callback_duplicate":
		return OutcomeCallback
	}
	return OutcomeOther
}
