# hotline — make run | make test | make bench | make build
GO       ?= go
BIN      := bin/hotline
# Debian packages the tests talk to (real peers, not mocks).
PEERS    := sip-tester baresip-core sox espeak-ng redis-server kamailio sipvicious prometheus chromium stunnel4
PEER_BIN := sipp baresip sox espeak-ng redis-server kamailio svwar svcrack promtool chromium stunnel4

.PHONY: all build run test unit e2e bench fuzz peers vet fmt clean bpf

all: build

build:
	$(GO) build -o $(BIN) ./cmd/hotline

# The embedded demo centre on 127.0.0.1:5060 (SIP) and 127.0.0.1:8080 (HTTP).
run: build
	./$(BIN)

# Installs any missing peer with apt-get (root, Debian), then runs every test.
test: peers vet
	$(GO) test -count=1 -parallel 4 -timeout 18m ./...

# Go benchmarks and SIPp load runs; figures go to docs/BENCHMARKS.md.
bench: peers build
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./media/ ./media/fastpath/ ./records/ ./acd/
	HOTLINE_BENCH=1 HOTLINE_BENCH_OUT=$(CURDIR)/bin/bench $(GO) test -count=1 -timeout 20m -run '^TestRelayPaths$$' -v ./media/
	HOTLINE_BENCH=1 HOTLINE_BENCH_OUT=$(CURDIR)/bin/bench $(GO) test -count=1 -timeout 60m -run 'Bench' -v ./cmd/hotline/

# Each fuzz target for FUZZTIME (default 60s); their seed corpora run in
# `make test` already. Executions and crashes go to docs/RELIABILITY.md.
FUZZTIME ?= 60s
FUZZ     := ./config:FuzzParse ./media/fastpath:FuzzKernelRelay ./media:FuzzRTP4733 ./media:FuzzLatch ./media:FuzzWAV ./sip:FuzzServer ./sip:FuzzParseSDP ./sip:FuzzInfoDTMF ./sip:FuzzParseCrypto ./sip:FuzzPath ./sip:FuzzAnsweredTimer
fuzz:
	@for t in $(FUZZ); do pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "== $$pkg $$fn ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done

peers:
	@missing=""; for b in $(PEER_BIN); do command -v $$b >/dev/null 2>&1 || missing="$$missing $$b"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing test peers (missing:$$missing)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $(PEERS) >/dev/null; \
		for s in redis-server kamailio prometheus; do (service $$s stop >/dev/null 2>&1 || true); done; \
	fi

# Regenerates the kernel fast path's object and Go bindings from
# media/fastpath/bpf/relay.c (both committed: a build needs no clang).
bpf:
	command -v clang >/dev/null || (apt-get update -qq && apt-get install -y -qq --no-install-recommends clang llvm libbpf-dev >/dev/null)
	cd media/fastpath && $(GO) generate .

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin data
