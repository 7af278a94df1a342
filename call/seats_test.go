package call

import "testing"

func TestSeatPoolInternalCalls(t *testing.T) {
	p := newSeatPool()
	a, b := &Call{id: "a"}, &Call{id: "b"}
	if !p.reserve("1001", a) {
		t.Fatal("free seat not reserved")
	}
	if p.reserve("1001", b) {
		t.Fatal("seat reserved twice")
	}
	p.release("1001", b) // not b's: no effect
	if p.reserve("1001", b) {
		t.Fatal("release by another call freed the seat")
	}
	p.release("1001", a)
	if !p.reserve("1001", b) {
		t.Fatal("released seat not reserved")
	}
}
