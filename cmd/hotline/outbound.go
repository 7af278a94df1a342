package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/hotline-cc/hotline/call"
)

// outboundStart serves POST /api/v1/outbound (admin token): {"number":
// "...", "queue": "..." or "agent": "<ext>", "purpose": "followup|missed",
// "of": "<call_id>"}. 202 {"call_id"} once the seat rings; 400 a bad body,
// 403 a number not allowed or outside calling_hours, 404 an unknown queue
// or agent, 409 no seat ready, 503 draining or no outbound trunk.
func (c *centre) outboundStart(w http.ResponseWriter, r *http.Request) {
	var body struct{ Number, Queue, Agent, Purpose, Of string }
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&body); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{
			"error": `body must be JSON with "number", "purpose" (followup or missed) and "queue" or "agent"`})
		return
	}
	id, err := c.engine.Outbound(call.OutboundRequest{
		Number: body.Number, Queue: body.Queue, Agent: body.Agent, Purpose: body.Purpose, Of: body.Of,
	})
	if err == nil {
		writeJSON(w, http.StatusAccepted, map[string]string{"call_id": id})
		return
	}
	code := http.StatusConflict
	switch {
	case errors.Is(err, call.ErrOutboundInvalid):
		code = http.StatusBadRequest
	case errors.Is(err, call.ErrOutboundRefused):
		code = http.StatusForbidden
	case errors.Is(err, call.ErrOutboundUnknown):
		code = http.StatusNotFound
	case errors.Is(err, call.ErrDraining), errors.Is(err, call.ErrOutboundNoTrunk):
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]string{"error": err.Error()})
}
