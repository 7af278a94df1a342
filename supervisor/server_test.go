package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

type fakeState struct{}

func (fakeState) Calls() any  { return []map[string]string{{"call_id": "c1", "state": "queued"}} }
func (fakeState) Agents() any { return []map[string]string{{"agent": "1001", "state": "ready"}} }
func (fakeState) Queues() any { return map[string]int{"general": 2} }

const (
	testToken     = "s3cret-token"
	testReadToken = "read-only-token"
)

// startServer serves on 127.0.0.1:0 and shuts down at cleanup, waiting for
// Serve to return.
func startServer(t *testing.T, cfg ServerConfig) (*Server, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(cfg)
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve returned %v, want nil after Shutdown", err)
		}
	})
	return s, "http://" + l.Addr().String()
}

type response struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, url, auth string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(body)}
}

func TestRoutes(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	m := NewMetrics()
	m.CallStarted("12345")
	s, base := startServer(t, ServerConfig{
		Token: testToken, ReadToken: testReadToken, Metrics: m, State: fakeState{}, Healthy: healthy.Load,
	})
	s.Handle("POST /api/v1/agents/{id}/pause", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "paused "+r.PathValue("id"))
	}), true)
	s.Handle("GET /wallboard", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "board")
	}), false)

	tests := []struct {
		name       string
		method     string
		path       string
		auth       string
		wantStatus int
		wantType   string // Content-Type prefix
		wantBody   string // substring
	}{
		{"health ok", "GET", "/healthz", "", 200, "text/plain", "ok"},
		{"metrics", "GET", "/metrics", "", 200, "text/plain", `hotline_calls_started_total{line="12345"} 1`},
		{"calls", "GET", "/api/v1/calls", "Bearer " + testToken, 200, "application/json", `"call_id":"c1"`},
		{"agents", "GET", "/api/v1/agents", "Bearer " + testToken, 200, "application/json", `"agent":"1001"`},
		{"queues", "GET", "/api/v1/queues", "Bearer " + testToken, 200, "application/json", `{"general":2}`},
		{"calls with read token", "GET", "/api/v1/calls", "Bearer " + testReadToken, 200, "application/json", `"call_id":"c1"`},
		{"calls without token", "GET", "/api/v1/calls", "", 401, "application/json", "bearer token required"},
		{"agents without token", "GET", "/api/v1/agents", "", 401, "application/json", "bearer token required"},
		{"queues wrong token", "GET", "/api/v1/queues", "Bearer wrong", 401, "application/json", "bearer token required"},
		{"state change with read token", "POST", "/api/v1/agents/1001/pause", "Bearer " + testReadToken, 401, "application/json", "bearer token required"},
		{"wallboard open", "GET", "/wallboard", "", 200, "text/plain", "board"},
		{"unknown path", "GET", "/nope", "", 404, "application/json", `"error":"not found"`},
		{"unknown api path", "GET", "/api/v1/tickets", "", 404, "application/json", `"status":404`},
		{"wrong method", "POST", "/healthz", "", 405, "application/json", `"error":"method not allowed"`},
		{"wrong method on api", "DELETE", "/api/v1/calls", "", 405, "application/json", `"status":405`},
		{"state change without token", "POST", "/api/v1/agents/1001/pause", "", 401, "application/json", "bearer token required"},
		{"state change wrong token", "POST", "/api/v1/agents/1001/pause", "Bearer wrong", 401, "application/json", "bearer token required"},
		{"state change wrong scheme", "POST", "/api/v1/agents/1001/pause", "Basic " + testToken, 401, "application/json", "bearer token required"},
		{"state change with token", "POST", "/api/v1/agents/1001/pause", "Bearer " + testToken, 200, "text/plain", "paused 1001"},
		{"scheme is case-insensitive", "POST", "/api/v1/agents/1001/pause", "bearer " + testToken, 200, "text/plain", "paused 1001"},
		{"added read-only route needs no token", "GET", "/wallboard", "", 200, "text/plain", "board"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, tc.method, base+tc.path, tc.auth)
			if r.status != tc.wantStatus {
				t.Fatalf("status %d, want %d; body %q", r.status, tc.wantStatus, r.body)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, tc.wantType) {
				t.Errorf("Content-Type %q, want %s", ct, tc.wantType)
			}
			if !strings.Contains(r.body, tc.wantBody) {
				t.Errorf("body %q lacks %q", r.body, tc.wantBody)
			}
			if tc.wantStatus == 401 && r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if tc.wantStatus == 405 && r.header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
			if tc.wantType == "application/json" && !json.Valid([]byte(r.body)) {
				t.Errorf("body is not JSON: %q", r.body)
			}
		})
	}

	healthy.Store(false)
	if r := do(t, "GET", base+"/healthz", ""); r.status != 503 || !strings.Contains(r.body, "draining") {
		t.Fatalf("draining: %d %q", r.status, r.body)
	}
}

func TestEmptyTokenRefusesStateChanges(t *testing.T) {
	s, base := startServer(t, ServerConfig{})
	s.Handle("POST /api/v1/reload", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		t.Error("handler reached without a configured token")
	}), true)
	for _, auth := range []string{"", "Bearer ", "Bearer"} {
		if r := do(t, "POST", base+"/api/v1/reload", auth); r.status != 401 {
			t.Errorf("auth %q: status %d, want 401", auth, r.status)
		}
	}
}

func TestWithoutOptionalParts(t *testing.T) {
	_, base := startServer(t, ServerConfig{Token: testToken})
	tests := []struct {
		path string
		want int
	}{
		{"/healthz", 200},
		{"/metrics", 404},
		{"/api/v1/calls", 503},
	}
	for _, tc := range tests {
		if r := do(t, "GET", base+tc.path, "Bearer "+testToken); r.status != tc.want {
			t.Errorf("%s: status %d, want %d", tc.path, r.status, tc.want)
		}
	}
}

type badState struct{ fakeState }

func (badState) Calls() any { return func() {} }

func TestSnapshotEncodeFailure(t *testing.T) {
	_, base := startServer(t, ServerConfig{Token: testToken, State: badState{}})
	r := do(t, "GET", base+"/api/v1/calls", "Bearer "+testToken)
	if r.status != 500 || !json.Valid([]byte(r.body)) {
		t.Fatalf("status %d body %q, want 500 with a JSON error", r.status, r.body)
	}
}

func TestServeReportsListenerFailure(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	s := NewServer(ServerConfig{})
	if err := s.Serve(l); !errors.Is(err, ErrServe) {
		t.Fatalf("err = %v, want ErrServe", err)
	}
}

func TestShutdownWaitsForActiveRequest(t *testing.T) {
	s, base := startServer(t, ServerConfig{})
	entered := make(chan struct{})
	release := make(chan struct{})
	s.Handle("GET /slow", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "done")
	}), false)

	got := make(chan response, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			got <- response{status: -1, body: err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- response{status: resp.StatusCode, body: string(b)}
	}()
	<-entered

	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	close(release)
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	if r := <-got; r.status != 200 || r.body != "done" {
		t.Fatalf("in-flight request: %d %q", r.status, r.body)
	}
}
