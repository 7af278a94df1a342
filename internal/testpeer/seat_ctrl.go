package testpeer

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// Event is one baresip ctrl_tcp event.
type Event struct {
	Type  string         // e.g. "CALL_ESTABLISHED"
	Class string         // e.g. "call", "register"
	Param string         // event parameter (peer URI, DTMF key, close reason, ...)
	Raw   map[string]any // the whole JSON object (accountaor, peeruri, id, direction, ...)
}

// seatCtrl is the one ctrl_tcp connection of a seat: a reader goroutine
// buffers every event and routes command responses by token.
type seatCtrl struct {
	conn net.Conn

	wmu sync.Mutex // serialises writes

	mu       sync.Mutex
	events   []Event
	taken    []bool
	notify   chan struct{}
	pending  map[string]chan ctrlResponse
	nextTok  int
	readDone chan struct{}
}

type ctrlResponse struct {
	ok   bool
	data string
}

func newSeatCtrl(conn net.Conn) *seatCtrl {
	c := &seatCtrl{conn: conn, notify: make(chan struct{}),
		pending: map[string]chan ctrlResponse{}, readDone: make(chan struct{})}
	go c.readLoop()
	return c
}

func (c *seatCtrl) close() {
	_ = c.conn.Close()
	<-c.readDone
}

func (c *seatCtrl) readLoop() {
	defer close(c.readDone)
	r := bufio.NewReader(c.conn)
	for {
		msg, err := readNetstring(r)
		if err != nil {
			return
		}
		var m map[string]any
		if json.Unmarshal(msg, &m) != nil {
			continue
		}
		c.dispatch(m)
	}
}

func (c *seatCtrl) dispatch(m map[string]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m["response"] == true {
		tok, _ := m["token"].(string)
		if ch, ok := c.pending[tok]; ok {
			delete(c.pending, tok)
			ok, _ := m["ok"].(bool)
			data, _ := m["data"].(string)
			ch <- ctrlResponse{ok: ok, data: data}
		}
		return
	}
	if m["event"] != true {
		return
	}
	ev := Event{Raw: m}
	ev.Type, _ = m["type"].(string)
	ev.Class, _ = m["class"].(string)
	ev.Param, _ = m["param"].(string)
	c.events = append(c.events, ev)
	c.taken = append(c.taken, false)
	close(c.notify)
	c.notify = make(chan struct{})
}

func (c *seatCtrl) changed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.notify
}

// take returns and marks the oldest untaken event of type kind.
func (c *seatCtrl) take(kind string) (Event, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, ev := range c.events {
		if !c.taken[i] && ev.Type == kind {
			c.taken[i] = true
			return ev, true
		}
	}
	return Event{}, false
}

// find returns the first event of type kind without taking it.
func (c *seatCtrl) find(kind string) (Event, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ev := range c.events {
		if ev.Type == kind {
			return ev, true
		}
	}
	return Event{}, false
}

func (c *seatCtrl) has(kind string) bool {
	_, ok := c.find(kind)
	return ok
}

func (c *seatCtrl) all() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Event(nil), c.events...)
}

func (c *seatCtrl) types() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.events))
	for i, ev := range c.events {
		out[i] = ev.Type
	}
	return out
}

func (c *seatCtrl) command(name, params string) error {
	_, err := c.commandData(name, params)
	return err
}

// commandData sends one command and waits for its response.
func (c *seatCtrl) commandData(name, params string) (string, error) {
	ch := make(chan ctrlResponse, 1)
	c.mu.Lock()
	c.nextTok++
	tok := "t" + strconv.Itoa(c.nextTok)
	c.pending[tok] = ch
	c.mu.Unlock()
	body, err := json.Marshal(map[string]string{"command": name, "params": params, "token": tok})
	if err != nil {
		return "", err
	}
	if err := c.write(body); err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrSeatCommand, name, err)
	}
	timer := time.NewTimer(seatCommandTimeout)
	defer timer.Stop()
	select {
	case r := <-ch:
		if !r.ok {
			return r.data, fmt.Errorf("%w: %s %s: %s", ErrSeatCommand, name, params, r.data)
		}
		return r.data, nil
	case <-c.readDone:
		return "", fmt.Errorf("%w: %s: connection closed", ErrSeatStopped, name)
	case <-timer.C:
		return "", fmt.Errorf("%w: %s: no response", ErrSeatTimeout, name)
	}
}

func (c *seatCtrl) write(body []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := fmt.Fprintf(c.conn, "%d:%s,", len(body), body)
	return err
}

// maxNetstring bounds one ctrl_tcp message.
const maxNetstring = 1 << 20

// readNetstring reads one "LEN:DATA," frame.
func readNetstring(r *bufio.Reader) ([]byte, error) {
	head, err := r.ReadString(':')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(head[:len(head)-1])
	if err != nil || n < 0 || n > maxNetstring {
		return nil, fmt.Errorf("%w: bad netstring length %q", ErrSeatCommand, head)
	}
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	if buf[n] != ',' {
		return nil, fmt.Errorf("%w: netstring not terminated", ErrSeatCommand)
	}
	return buf[:n], nil
}
