package acd

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/queue"
	"github.com/hotline-cc/hotline/store"
	"github.com/hotline-cc/hotline/store/redistest"
)

// benchCentre: 200 seats over six skills (each seat has two), six queues,
// every seat on a call and 1,000 calls waiting.
func benchCentre(b *testing.B, st store.Store) (*rig, map[string]string) {
	skills := []string{"general", "social", "market", "environment", "agriculture", "supervision"}
	var qs []queue.Config
	for _, sk := range skills {
		qs = append(qs, queue.Config{Name: sk})
	}
	var agents []Agent
	for i := range 200 {
		agents = append(agents, agent(fmt.Sprint(2000+i), skills[i%6], 1+i%10, skills[(i+1)%6], 5))
	}
	r := newRigStore(b, st, Config{Queues: qs}, agents...)
	onCall := map[string]string{} // seat -> call
	for i, a := range agents {
		r.ready(a.Ext)
		id := fmt.Sprint("busy", i)
		for _, d := range r.arrive(id, skills[i%6], 0) {
			r.do(r.d.Answered(r.ctx, d.CallID, d.Agent))
			onCall[d.Agent] = d.CallID
		}
	}
	for i := range 1000 {
		r.clk.Add(time.Millisecond)
		r.arrive(fmt.Sprint("wait", i), skills[i%6], i%3)
	}
	if len(onCall) != 200 {
		b.Fatalf("%d seats busy", len(onCall))
	}
	return r, onCall
}

// benchSeatFreed measures seat selection: a seat's call ends, the
// dispatcher picks the waiting call it should take and claims the seat
// (CallEnded, timed); then the seat answers and a new caller arrives, so
// 200 seats stay busy and 1,000 calls wait.
func benchSeatFreed(b *testing.B, st store.Store) {
	r, onCall := benchCentre(b, st)
	seats := make([]string, 0, len(onCall))
	for ext := range onCall {
		seats = append(seats, ext)
	}
	slices.Sort(seats)
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ext := seats[i%len(seats)]
		r.clk.Add(time.Millisecond)
		start := time.Now()
		out, err := r.d.CallEnded(r.ctx, onCall[ext], ext)
		lat = append(lat, time.Since(start))
		if err != nil || len(out) != 1 || out[0].Kind != Offer || out[0].Agent != ext {
			b.Fatalf("seat %s freed: %v %v", ext, brief(out), err)
		}
		b.StopTimer()
		r.do(r.d.Answered(r.ctx, out[0].CallID, ext))
		onCall[ext] = out[0].CallID
		r.arrive(fmt.Sprint("new", i), r.d.names[i%len(r.d.names)], 0)
		b.StartTimer()
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	at := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Nanoseconds()) }
	b.ReportMetric(at(0.50), "p50-ns")
	b.ReportMetric(at(0.99), "p99-ns")
}

func BenchmarkSeatSelectionMemory(b *testing.B) {
	benchSeatFreed(b, store.NewMemory())
}

func BenchmarkSeatSelectionRedis(b *testing.B) {
	srv := redistest.Start(b)
	benchSeatFreed(b, redisStore(b, srv.Addr, "{bench}:"))
}

// benchArrive measures a call arriving when most seats are free, as in the
// calls/s run: 2,000 ready seats, 200 of them on calls; each arrival is
// offered a seat (Arrive, timed), which answers, and the oldest call ends.
func benchArrive(b *testing.B, st store.Store) {
	const seats, talking = 2000, 200
	skills := []string{"general", "social", "market", "environment", "agriculture", "supervision"}
	var agents []Agent
	for i := range seats {
		agents = append(agents, agent(fmt.Sprint(3000+i), "general", 1+i%10, skills[1+i%5], 5))
	}
	r := newRigStore(b, st, Config{Queues: []queue.Config{{Name: "general"}}}, agents...)
	for _, a := range agents {
		r.ready(a.Ext)
	}
	type onCall struct{ id, ext string }
	var live []onCall
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N + talking {
		r.clk.Add(time.Millisecond)
		id := fmt.Sprint("c", i)
		start := time.Now()
		out, err := r.d.Arrive(r.ctx, Arrival{CallID: id, Queue: "general"})
		if i >= talking {
			lat = append(lat, time.Since(start))
		}
		if err != nil || len(out) != 1 || out[0].Kind != Offer {
			b.Fatalf("arrive %s: %v %v", id, brief(out), err)
		}
		b.StopTimer()
		r.do(r.d.Answered(r.ctx, id, out[0].Agent))
		live = append(live, onCall{id, out[0].Agent})
		if len(live) >= talking {
			r.do(r.d.CallEnded(r.ctx, live[0].id, live[0].ext))
			live = live[1:]
		}
		b.StartTimer()
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}

func BenchmarkArriveMemory(b *testing.B) {
	benchArrive(b, store.NewMemory())
}

func BenchmarkArriveRedis(b *testing.B) {
	srv := redistest.Start(b)
	benchArrive(b, redisStore(b, srv.Addr, "{bench}:"))
}
