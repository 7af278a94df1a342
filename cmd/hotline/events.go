package main

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// eventsHeartbeat is how often an idle event stream gets a comment line,
// so that proxies and clients see it alive.
const eventsHeartbeat = 15 * time.Second

// events serves GET /api/v1/events (bearer token, read token too): the
// node's journalled events as Server-Sent Events. Each has its id; a
// client resumes with Last-Event-ID (the header, or ?last_event_id=) and
// gets what it missed, or, when that is older than the node keeps, an
// "event: reset" and then everything kept. Without one it starts with the
// next event. ?types=call.ended,call.started filters. A comment every 15 s
// keeps an idle stream alive; the stream ends when the node stops.
func (c *centre) events(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "streaming not supported"})
		return
	}
	feed := c.journal.Feed()
	from := feed.Last()
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("last_event_id")
	}
	if last != "" {
		id, err := strconv.ParseUint(strings.TrimSpace(last), 10, 64)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "Last-Event-ID must be an event id (a whole number)"})
			return
		}
		from = id
	}
	var types map[string]bool
	if t := r.URL.Query().Get("types"); t != "" {
		types = map[string]bool{}
		for _, name := range strings.Split(t, ",") {
			types[strings.TrimSpace(name)] = true
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": hotline events\n\n")
	flusher.Flush()
	beat := time.NewTicker(eventsHeartbeat)
	defer beat.Stop()
	for {
		evs, reset, more, closed := feed.Since(from, 256)
		if reset {
			fmt.Fprintf(w, "event: reset\ndata: {\"after\": %d}\n\n", from)
		}
		for _, ev := range evs {
			from = ev.ID
			if types != nil && !types[ev.Type] {
				continue
			}
			fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.ID, ev.Type, ev.JSON)
		}
		if len(evs) > 0 || reset {
			flusher.Flush()
		}
		if len(evs) == 256 {
			continue // more are there already
		}
		if closed {
			return
		}
		select {
		case <-more:
		case <-beat.C:
			fmt.Fprint(w, ": ping\n\n")
			flusher.Flush()
		case <-r.Context().Done():
			return
		}
	}
}
