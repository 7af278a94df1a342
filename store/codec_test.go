package store

import (
	"strings"
	"testing"
)

// TestDecodeStatusBoot: a status keeps its node's boot through the Redis
// codec, and one written before the boot was kept (a field fewer) still
// reads, without a boot.
func TestDecodeStatusBoot(t *testing.T) {
	s := Status{State: "on_call", Since: t0, CallID: "c1", Queue: "general", Node: "n1", Boot: "b1"}
	raw := "7" + sep + encodeStatus("1001", s)
	for name, tc := range map[string]struct{ raw, boot string }{
		"with boot": {raw, "b1"},
		"legacy":    {strings.TrimSuffix(raw, sep+"b1"), ""},
	} {
		ext, got, err := decodeStatus(tc.raw)
		if err != nil || ext != "1001" || got.Version != 7 || got.Node != "n1" || got.CallID != "c1" || got.Boot != tc.boot {
			t.Errorf("%s: %q %+v %v", name, ext, got, err)
		}
	}
	if _, _, err := decodeStatus("7" + sep + "1001" + sep + "ready"); err == nil {
		t.Error("a short status decoded")
	}
}
