package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/hotline-cc/hotline/call"
)

// transferStart serves POST /api/v1/calls/{call_id}/transfer (admin token):
// {"target": "<entry name, number or key>", "mode": "blind|consult|conference"}
// (mode optional: the entry's own). 200 once the entry is being dialled.
func (c *centre) transferStart(w http.ResponseWriter, r *http.Request) {
	var body struct{ Target, Mode string }
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&body); err != nil || body.Target == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `body must be JSON with "target" (and optionally "mode")`})
		return
	}
	writeTransfer(w, c.engine.Transfer(r.PathValue("id"), body.Target, body.Mode))
}

// transferOp serves POST /api/v1/calls/{call_id}/transfer/{op} (admin
// token), op complete, cancel, threeway, swap or leave.
func (c *centre) transferOp(w http.ResponseWriter, r *http.Request) {
	writeTransfer(w, c.engine.TransferOp(r.PathValue("id"), r.PathValue("op")))
}

// writeTransfer answers a transfer request: 200, 404 (no such call), 403
// (not in the directory), 409 (not now).
func writeTransfer(w http.ResponseWriter, err error) {
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	case errors.Is(err, call.ErrNoSuchCall):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
	case errors.Is(err, call.ErrTransferRefused):
		writeJSON(w, http.StatusForbidden, map[string]string{"error": err.Error()})
	default:
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
	}
}

// monitorStart serves POST /api/v1/calls/{call_id}/monitor (admin token):
// {"supervisor": "<ext>", "mode": "listen|whisper|barge|takeover"}; the
// supervisor's phone is rung with an auto-answer hint.
func (c *centre) monitorStart(w http.ResponseWriter, r *http.Request) {
	var body struct{ Supervisor, Mode string }
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&body); err != nil || body.Supervisor == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `body must be JSON with "supervisor" (and optionally "mode")`})
		return
	}
	writeTransfer(w, c.engine.Monitor(r.PathValue("id"), body.Supervisor, body.Mode))
}

// monitorMode serves PATCH /api/v1/calls/{call_id}/monitor {"mode": ...}.
func (c *centre) monitorMode(w http.ResponseWriter, r *http.Request) {
	var body struct{ Mode string }
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&body); err != nil || body.Mode == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `body must be JSON with "mode"`})
		return
	}
	writeTransfer(w, c.engine.MonitorMode(r.PathValue("id"), body.Mode))
}

// monitorStop serves DELETE /api/v1/calls/{call_id}/monitor.
func (c *centre) monitorStop(w http.ResponseWriter, r *http.Request) {
	writeTransfer(w, c.engine.MonitorStop(r.PathValue("id")))
}
