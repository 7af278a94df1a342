package records

import "testing"

func TestFeedResumesAndResets(t *testing.T) {
	f := NewFeed(3)
	if evs, reset, _, _ := f.Since(0, 10); len(evs) != 0 || reset {
		t.Fatalf("empty feed: %v %v", evs, reset)
	}
	_, _, more, _ := f.Since(0, 10)
	for id := uint64(1); id <= 5; id++ {
		f.publish(FeedEvent{ID: id, Type: EventCallStarted})
	}
	select {
	case <-more:
	default:
		t.Fatal("a reader was not woken")
	}
	ids := func(evs []FeedEvent) (out []uint64) {
		for _, e := range evs {
			out = append(out, e.ID)
		}
		return out
	}
	if evs, reset, _, _ := f.Since(3, 10); reset || len(evs) != 2 || evs[0].ID != 4 {
		t.Errorf("after 3: %v reset %v", ids(evs), reset)
	}
	if evs, reset, _, _ := f.Since(1, 10); !reset || len(evs) != 3 || evs[0].ID != 3 {
		t.Errorf("after 1 (gone): %v reset %v", ids(evs), reset)
	}
	if evs, _, _, _ := f.Since(5, 10); len(evs) != 0 {
		t.Errorf("after the last: %v", ids(evs))
	}
	if evs, _, _, _ := f.Since(2, 1); len(evs) != 1 || evs[0].ID != 3 {
		t.Errorf("limit 1: %v", ids(evs))
	}
	if f.Last() != 5 {
		t.Errorf("last %d", f.Last())
	}
	f.Close()
	if _, _, _, closed := f.Since(5, 1); !closed {
		t.Error("not closed")
	}
}
