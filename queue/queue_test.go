package queue

import (
	"errors"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

func ids(q *Queue) []string {
	var out []string
	for _, c := range q.Calls() {
		out = append(out, c.ID)
	}
	return out
}

func TestOrder(t *testing.T) {
	tests := []struct {
		name  string
		calls []Call
		want  []string
	}{
		{"arrival", []Call{{ID: "a", Arrived: t0}, {ID: "b", Arrived: t0.Add(time.Second)}}, []string{"a", "b"}},
		{"arrival out of order", []Call{{ID: "b", Arrived: t0.Add(time.Second)}, {ID: "a", Arrived: t0}}, []string{"a", "b"}},
		{"priority first", []Call{{ID: "a", Arrived: t0}, {ID: "v", Priority: 5, Arrived: t0.Add(time.Minute)}}, []string{"v", "a"}},
		{"same time by id", []Call{{ID: "b", Arrived: t0}, {ID: "a", Arrived: t0}}, []string{"a", "b"}},
		{"requeued call returns to the head", []Call{{ID: "b", Arrived: t0.Add(time.Second)}, {ID: "c", Arrived: t0.Add(2 * time.Second)}, {ID: "a", Arrived: t0}}, []string{"a", "b", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := New(Config{Name: "q"}.WithDefaults())
			for _, c := range tt.calls {
				if err := q.Add(c, false); err != nil {
					t.Fatal(err)
				}
			}
			if got := ids(q); !slices.Equal(got, tt.want) {
				t.Fatalf("order %v, want %v", got, tt.want)
			}
			for i, id := range tt.want {
				if q.Position(id) != i+1 {
					t.Fatalf("position of %s = %d", id, q.Position(id))
				}
			}
		})
	}
}

func TestLimits(t *testing.T) {
	q := New(Config{Name: "q", MaxLength: 2, MaxWait: time.Minute}.WithDefaults())
	for i, id := range []string{"a", "b"} {
		if err := q.Add(Call{ID: id, Arrived: t0, Joined: t0.Add(time.Duration(i) * time.Second)}, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Add(Call{ID: "c", Arrived: t0}, false); !errors.Is(err, ErrFull) {
		t.Fatalf("third call: %v", err)
	}
	if err := q.Add(Call{ID: "cb", Arrived: t0, Callback: true}, false); !errors.Is(err, ErrFull) {
		t.Fatalf("a kept place in a full queue: %v", err)
	}
	if err := q.Add(Call{ID: "cb", Arrived: t0, Callback: true}, true); err != nil {
		t.Fatalf("a place becoming a callback refused: %v", err)
	}
	if err := q.Add(Call{ID: "back", Arrived: t0}, true); err != nil {
		t.Fatalf("forced requeue refused: %v", err)
	}
	if err := q.Add(Call{ID: "a", Arrived: t0}, true); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate: %v", err)
	}
	exp := q.Expired(t0.Add(time.Minute))
	if len(exp) != 2 || exp[0].ID != "a" || exp[1].ID != "back" {
		t.Fatalf("expired %+v", exp)
	}
	if c, ok := q.Remove("a"); !ok || c.ID != "a" || q.Position("a") != 0 {
		t.Fatal("remove")
	}
	if _, ok := q.Remove("a"); ok {
		t.Fatal("removed twice")
	}
}

func TestNeedEscalation(t *testing.T) {
	q := New(Config{Name: "tax", MinLevel: 7, Escalation: []Step{
		{After: 30 * time.Second, MinLevel: 4},
		{After: 90 * time.Second, Skills: []string{"general"}},
		{After: 120 * time.Second, MinLevel: 1, Skills: []string{"finance"}},
	}}.WithDefaults())
	tests := []struct {
		waited time.Duration
		step   int
		want   Need
	}{
		{0, 0, Need{Skills: []string{"tax"}, MinLevel: 7}},
		{29 * time.Second, 0, Need{Skills: []string{"tax"}, MinLevel: 7}},
		{30 * time.Second, 1, Need{Skills: []string{"tax"}, MinLevel: 4}},
		{90 * time.Second, 2, Need{Skills: []string{"tax", "general"}, MinLevel: 4}},
		{10 * time.Minute, 3, Need{Skills: []string{"tax", "general", "finance"}, MinLevel: 1}},
	}
	for _, tt := range tests {
		got := q.Need(t0, t0.Add(tt.waited))
		if !slices.Equal(got.Skills, tt.want.Skills) || got.MinLevel != tt.want.MinLevel {
			t.Errorf("after %s: %+v, want %+v", tt.waited, got, tt.want)
		}
		if step := q.Step(t0, t0.Add(tt.waited)); step != tt.step || !slices.Equal(q.StepNeed(step).Skills, got.Skills) {
			t.Errorf("after %s: step %d with %+v, want step %d", tt.waited, step, q.StepNeed(step), tt.step)
		}
	}
	if q.Steps() != 4 {
		t.Errorf("%d steps, want 4", q.Steps())
	}
	q.SetConfig(Config{Name: "tax", Skill: "tax", MinLevel: 2})
	if q.Steps() != 1 || q.Need(t0, t0.Add(time.Hour)).MinLevel != 2 {
		t.Errorf("after a reload without escalation: %d steps, %+v", q.Steps(), q.Need(t0, t0.Add(time.Hour)))
	}
}

func TestEstimateWait(t *testing.T) {
	tests := []struct {
		name                string
		pos, ready, staffed int
		want                time.Duration
	}{
		{"a seat is free", 1, 1, 5, 0},
		{"first behind busy seats", 1, 0, 5, time.Minute},
		{"a round of five", 5, 0, 5, time.Minute},
		{"second round", 6, 0, 5, 2 * time.Minute},
		{"ready seats take the first", 4, 2, 2, time.Minute},
		{"nobody staffed", 1, 0, 0, -1},
	}
	for _, tt := range tests {
		if got := EstimateWait(tt.pos, tt.ready, tt.staffed, time.Minute); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestAverageHandle(t *testing.T) {
	q := New(Config{Name: "q", DefaultHandle: 2 * time.Minute}.WithDefaults())
	if q.AverageHandle() != 2*time.Minute {
		t.Fatal("default handle time")
	}
	for range handleWindow {
		q.RecordHandle(time.Minute)
	}
	q.RecordHandle(0)
	if q.AverageHandle() != time.Minute {
		t.Fatalf("average %s", q.AverageHandle())
	}
	for range handleWindow {
		q.RecordHandle(3 * time.Minute)
	}
	if q.AverageHandle() != 3*time.Minute {
		t.Fatalf("window did not roll: %s", q.AverageHandle())
	}
}

func TestDueAnnouncements(t *testing.T) {
	q := New(Config{Name: "q", AnnounceEvery: 30 * time.Second}.WithDefaults())
	_ = q.Add(Call{ID: "a", Arrived: t0, Announce: t0}, false)
	_ = q.Add(Call{ID: "b", Arrived: t0.Add(10 * time.Second), Announce: t0.Add(10 * time.Second)}, false)
	_ = q.Add(Call{ID: "cb", Arrived: t0, Callback: true}, false)
	if got := q.DueAnnouncements(t0.Add(30 * time.Second)); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("due %v", got)
	}
	if got := q.DueAnnouncements(t0.Add(40 * time.Second)); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("due %v", got)
	}
}

func TestValidateDefaults(t *testing.T) {
	c := Config{Name: "general"}.WithDefaults()
	if c.Strategy != LongestIdle || c.ServiceLevel != 15*time.Second || c.Skill != "general" || c.MinLevel != 1 {
		t.Fatalf("defaults %+v", c)
	}
	if errs := c.Validate(); len(errs) != 0 {
		t.Fatal(errs)
	}
	bad := Config{Strategy: "x", MinLevel: 0, WrapUp: -1, OnFull: Destination{Kind: "fax"}}
	if errs := bad.Validate(); len(errs) != 5 {
		t.Fatalf("want 5 problems, got %v", errs)
	}
}

// TestCallbackPlaces: kept places count in max_length, and expire
// callback_expiry after they were kept (line-holding calls never do).
func TestCallbackPlaces(t *testing.T) {
	q := New(Config{Name: "q", MaxLength: 3, Callback: true, CallbackExpiry: time.Hour}.WithDefaults())
	for _, c := range []Call{
		{ID: "old", Arrived: t0, Callback: true, Kept: t0},
		{ID: "new", Arrived: t0.Add(time.Second), Callback: true, Kept: t0.Add(30 * time.Minute)},
		{ID: "line", Arrived: t0.Add(2 * time.Second)},
	} {
		if err := q.Add(c, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Add(Call{ID: "more", Arrived: t0}, false); !errors.Is(err, ErrFull) {
		t.Fatalf("kept places not counted in max_length: %v", err)
	}
	for _, tc := range []struct {
		name  string
		after time.Duration
		want  []string
	}{
		{"none yet", 59 * time.Minute, nil},
		{"the first at its hour", time.Hour, []string{"old"}},
		{"both, never the line", 3 * time.Hour, []string{"old", "new"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, c := range q.ExpiredCallbacks(t0.Add(tc.after)) {
				got = append(got, c.ID)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("expired %v, want %v", got, tc.want)
			}
		})
	}
	q.SetConfig(Config{Name: "q", Callback: true}.WithDefaults())
	if got := q.ExpiredCallbacks(t0.Add(100 * time.Hour)); got != nil {
		t.Fatalf("no expiry configured, yet %v", got)
	}
}
