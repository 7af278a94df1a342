package supervisor

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
)

// errorBody is the JSON of every error answer: {"error":"…","status":404}.
type errorBody struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
}

// writeJSON encodes v before writing anything, so an encoding failure still
// gets a clean 500.
func writeJSON(w http.ResponseWriter, logger *slog.Logger, what string, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		logger.Error("supervisor: encode response", "path", what, "error", err)
		writeJSONError(w, http.StatusInternalServerError, "cannot encode response")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Del("Content-Length")
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	body, _ := json.Marshal(errorBody{Error: msg, Status: status})
	_, _ = w.Write(append(body, '\n'))
}

// jsonErrorWriter replaces the body of a 404 or 405 written by the mux with a
// JSON error; any other answer passes through unchanged.
type jsonErrorWriter struct {
	http.ResponseWriter
	replaced bool
}

func (j *jsonErrorWriter) WriteHeader(status int) {
	if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
		j.ResponseWriter.WriteHeader(status)
		return
	}
	j.replaced = true
	msg := "not found"
	if status == http.StatusMethodNotAllowed {
		msg = "method not allowed"
	}
	writeJSONError(j.ResponseWriter, status, msg)
}

func (j *jsonErrorWriter) Write(b []byte) (int, error) {
	if j.replaced {
		return len(b), nil
	}
	return j.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (j *jsonErrorWriter) Unwrap() http.ResponseWriter { return j.ResponseWriter }
