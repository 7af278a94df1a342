package fastpath

// The object and its bindings are committed: building hotline needs no
// clang. `make bpf` regenerates them after a change to relay.c.
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go@v0.22.0 -cc clang -cflags "-O2 -g -Wall -I/usr/include/x86_64-linux-gnu" -target bpfel -type leg_key -type leg relay bpf/relay.c
