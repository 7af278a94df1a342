package records

import (
	"testing"
	"time"
)

// BenchmarkWrite measures appending one typical record (marshal + write(2)).
func BenchmarkWrite(b *testing.B) {
	w, err := NewWriter(b.TempDir(), nil, WithLocation(cst))
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	ended := time.Date(2026, 11, 23, 13, 31, 26, 123_000_000, cst)
	r := minimalRecord("bench", ended)
	r.IVRPath = []string{"welcome", "2"}
	r.AnsweredAt = At(ended.Add(-time.Minute))
	r.Transfers = []Transfer{{Target: "sip:12333@127.0.0.1:5092", Mode: "conference", RingMs: 4200, Answered: true}}
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Write(r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
