package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// TestWallboard runs /wallboard in headless Chromium against the engine:
// the page loads with no request leaving the engine; a caller arriving
// shows as waiting; past longest_wait_red the queue's light turns red;
// a seat registering answers the call (the agent's tile turns to a call,
// nobody waits); when the caller hangs up the day counts one answered of
// one offered. A screenshot is kept in bin/test-artifacts/wallboard.png.
func TestWallboard(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("chromium"); err != nil {
		t.Fatal("chromium is not installed (make peers installs it)") // a missing peer is a failure, never a skip
	}
	e := startEngine(t, centreOpts{Seats: 1, RTPTimeout: "60s",
		Extra: "queues:\n  - {name: general}\nwallboard: {title: 测试中心, longest_wait_yellow: 3s, longest_wait_red: 6s}\n"})
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1600, 1000))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	var (
		mu   sync.Mutex
		urls []string
	)
	base := "http://" + e.HTTP
	if err := chromedp.Do(ctx); err != nil { // starts the browser and its tab
		t.Fatalf("chromium: %v", err)
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		if r, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			urls = append(urls, r.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/wallboard#token="+testToken)); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	js := func(expr string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("evaluating %s: %v", expr, err)
		}
		return s
	}
	show := func(what, expr, want string, limit time.Duration) {
		t.Helper()
		var got string
		if !pollUntil(limit, func() bool { got = js(expr); return got == want }) {
			t.Fatalf("the wallboard: %s is %q, want %q (error line %q)", what, got, want, js(`document.getElementById("error").textContent`))
		}
	}
	text := func(id string) string { return `document.getElementById("` + id + `").textContent` }
	show("the title", text("title"), "测试中心", 10*time.Second)
	show("waiting", text("centre-waiting"), "0", 10*time.Second)

	caller, _ := e.caller(t, "12345", "0", 35*time.Second)
	show("waiting", text("centre-waiting"), "1", 15*time.Second)
	show("the general queue's light", `(document.querySelector("#q-general .light")||{}).dataset?.light||""`, "red", 20*time.Second)
	show("the centre's light", `document.getElementById("centre-light").dataset.light||""`, "red", 10*time.Second)

	seat := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_answer.xml"), Calls: 1, Timeout: time.Minute,
	})
	registerSeatRange(t, e, 1001, 1, seat.Addr, 200, 50)
	show("agent 1001", `(document.getElementById("agent-1001")||{}).dataset?.state||""`, "on_call", 15*time.Second)
	show("waiting", text("centre-waiting"), "0", 5*time.Second)
	caller.Wait()
	show("answered / offered today", text("centre-answered"), "1 / 1", 15*time.Second)
	show("the answer rate", text("centre-answer"), "100.0%", 5*time.Second)

	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "bin", "test-artifacts")
	if err := os.MkdirAll(dir, 0o755); err == nil {
		path := filepath.Join(dir, "wallboard.png")
		if err := os.WriteFile(path, shot, 0o644); err == nil {
			t.Logf("screenshot: %s", path)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, u := range urls {
		if !strings.HasPrefix(u, base+"/") && !strings.HasPrefix(u, "data:") {
			t.Errorf("the page asked for %s, outside the engine", u)
		}
	}
	if len(urls) < 3 {
		t.Errorf("requests seen: %v", urls)
	}
}
