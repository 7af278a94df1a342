package main

import "net/http"

// directoryEntry is one entry of GET /api/v1/directory: the config's entry
// with durations in seconds and the fallback as the file writes it.
type directoryEntry struct {
	Name        string  `json:"name"`
	Number      string  `json:"number"`
	Kind        string  `json:"kind"`
	Target      string  `json:"target,omitempty"`
	Trunk       string  `json:"trunk,omitempty"`
	URI         string  `json:"uri"`
	RingTimeout float64 `json:"ring_timeout"`
	Hours       string  `json:"hours,omitempty"`
	Mode        string  `json:"mode"`
	Key         string  `json:"key,omitempty"`
	CallerID    string  `json:"caller_id"`
	Fallback    string  `json:"fallback"`
	Derived     bool    `json:"derived"`
}

// directory serves GET /api/v1/directory (bearer token, read token too):
// the transfer directory of the config in force, in order.
func (c *centre) directory(w http.ResponseWriter, _ *http.Request) {
	entries := c.cfg.Load().Directory.Entries
	out := make([]directoryEntry, len(entries))
	for i, e := range entries {
		out[i] = directoryEntry{
			Name: e.Name, Number: e.Number, Kind: e.Kind, Target: e.Target, Trunk: e.Trunk, URI: e.URI,
			RingTimeout: e.RingTimeout.Seconds(), Hours: e.Hours, Mode: e.Mode, Key: e.Key,
			CallerID: e.CallerID, Fallback: e.Fallback.String(), Derived: e.Derived,
		}
	}
	writeJSON(w, http.StatusOK, out)
}
