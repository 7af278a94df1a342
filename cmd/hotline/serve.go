package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	_ "time/tzdata" // the centre's timezone works on machines without zoneinfo

	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hotline-cc/hotline"
	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/internal/guard"
	"github.com/hotline-cc/hotline/media"
	"github.com/hotline-cc/hotline/records"
	"github.com/hotline-cc/hotline/report"
	"github.com/hotline-cc/hotline/sip"
	"github.com/hotline-cc/hotline/store"
	"github.com/hotline-cc/hotline/supervisor"
	"github.com/prometheus/client_golang/prometheus"
)

func demoConfig() (*config.Config, error) { return hotline.DemoConfig() }

// centre is the running engine: every part, wired once at start.
type centre struct {
	log     *slog.Logger
	cfg     atomic.Pointer[config.Config]
	path    string
	now     func() time.Time
	metrics *supervisor.Metrics
	media   *media.Manager
	reg     *sip.Registrar
	engine  *call.Engine
	sip     *sip.Server
	http    *supervisor.Server
	records *records.Writer
	journal *records.Journal
	// stopSinks delivers what the record sinks still hold, then stops them.
	stopSinks, stopWebhook func(wait time.Duration)
	missed                 *missedCalls
	today                  *todayFigures
	trunks                 *trunkHealth // set before the engine starts
	// stopRetention ends the recordings' retention sweep.
	stopRetention chan struct{}
	// closeStore releases the shared store's client (Redis) after the drain.
	closeStore func() error
}

// serve builds the centre, runs it until SIGTERM/SIGINT, drains and exits.
func serve(cfg *config.Config, path string, log *slog.Logger, now func() time.Time) error {
	c := &centre{log: log, path: path, now: now, metrics: supervisor.NewMetrics()}
	c.cfg.Store(cfg)
	c.metrics.RegisterPanics(panicCounts)
	if err := c.build(cfg); err != nil {
		return err
	}
	defer c.records.Close()
	defer c.journal.Close()
	defer c.media.Close()
	defer c.closeStore()

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go c.reg.Run(ctx)
	go c.engine.Run(ctx)
	sipDone := make(chan error, 1)
	go func() { sipDone <- c.sip.Serve(ctx) }()

	hl, err := net.Listen("tcp", cfg.HTTP.Address.String())
	if err != nil {
		return fmt.Errorf("http: listen %s: %w", cfg.HTTP.Address, err)
	}
	go func() {
		if err := c.http.Serve(hl); err != nil {
			log.Error("http server stopped", "error", err)
		}
	}()
	log.Info("hotline ready", "centre", cfg.Centre,
		"sip_udp", c.sip.BoundAddr("udp").String(), "sip_tcp", c.sip.BoundAddr("tcp").String(),
		"sip_tls", tlsAddr(c.sip),
		"http", hl.Addr().String(), "data", cfg.DataDir, "seats", len(cfg.Seats), "lines", len(cfg.Lines),
		"node", cfg.Store.Node, "boot", c.engine.Boot())

	c.waitSignals()

	grace := c.cfg.Load().ShutdownGrace
	log.Info("draining: new calls get 503", "live_calls", c.engine.Active(), "grace", grace)
	c.sip.Drain()
	cut := c.engine.Drain(context.Background(), grace)
	log.Info("drained", "calls_cut", cut)
	c.journal.Feed().Close() // event streams end: the HTTP shutdown does not wait for them
	close(c.stopRetention)
	for _, stop := range []func(time.Duration){c.stopSinks, c.stopWebhook} {
		if stop != nil {
			stop(5 * time.Second)
		}
	}
	shCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.http.Shutdown(shCtx)
	stop()
	<-sipDone
	return nil
}

// build creates every part from the config.
func (c *centre) build(cfg *config.Config) error {
	var err error
	c.records, err = records.NewWriter(filepath.Join(cfg.DataDir, "records"), c.log, records.WithLocation(cfg.Location))
	if err != nil {
		return err
	}
	c.journal, err = openJournal(cfg, c.records, c.log.With("part", "journal"))
	if err != nil {
		return err
	}
	// The records files seed the missed callers and today's figures (the
	// lost records of this start are in them already; read once), the
	// feed brings the rest.
	c.missed = newMissedCalls(cfg.Records.MissedWindow, c.now)
	c.today = newTodayFigures(cfg.Location, c.now, func() report.Options {
		return report.Options{Loc: cfg.Location, ShortAbandon: c.cfg.Load().ACD.ShortAbandon}
	})
	c.missed.seed(c.records, c.today.note)
	// One reader of the feed's records for the missed callers, today's
	// figures and the queue metrics (each record decoded once).
	go followRecords(c.journal.Feed(), c.journal.Feed().Last(), func(r *records.Record) {
		c.missed.note(r)
		c.today.note(r)
		c.observeQueue(r)
	})
	c.stopSinks = startStreamSink(cfg.Records.Stream, c.journal.Feed(), c.log.With("part", "records"), c.metrics)
	c.stopWebhook, err = startWebhookSink(cfg.Records.Webhook, cfg.DataDir, c.journal.Feed(), c.log.With("part", "records"), c.metrics)
	if err != nil {
		return err
	}
	c.stopRetention = make(chan struct{})
	go keepRecordings(filepath.Join(cfg.DataDir, "recordings"), cfg.Recordings.Keep, cfg.Location, c.now, c.log.With("part", "recordings"), c.stopRetention)
	c.media, err = media.NewManager(media.Config{
		Address: cfg.RTP.Address, Address6: cfg.RTP.Address6, PortMin: cfg.RTP.PortMin, PortMax: cfg.RTP.PortMax,
		UnbatchedSends: !cfg.RTP.BatchSends,
		FastPath:       cfg.RTP.FastPath == config.FastPathAuto,
		Logger:         c.log.With("part", "media"),
	})
	if err != nil {
		return err
	}
	c.metrics.RegisterRTPStats(c.rtpStats)
	c.reg = sip.NewRegistrar(sip.RegistrarConfig{
		Realm: cfg.SIP.Realm, NonceTTL: cfg.SIP.NonceTTL,
		MinExpires: cfg.SIP.RegisterMin, MaxExpires: cfg.SIP.RegisterMax, DefaultExpires: cfg.SIP.RegisterDefault,
		MaxAuthFailures: cfg.SIP.MaxAuthFailures, LockoutBase: cfg.SIP.AuthLockout,
		Passwords: c.password,
		Admit:     c.seatAllowed,
		Logger:    c.log.With("part", "registrar"),
		OnChange:  c.registrationChanged,
	})
	st, closeStore := openStore(cfg.Store)
	c.engine, err = call.NewEngine(call.Options{
		Config: cfg, Media: c.media, Seats: c.reg, Records: journaled{c.journal, c.records}, Metrics: c.metrics,
		Logger: c.log, Now: c.now, Location: cfg.Location, Store: st,
		TrunkUp: func(name string) bool { return c.trunks == nil || c.trunks.up(name) },
	})
	if err != nil {
		_ = closeStore()
		return err
	}
	c.closeStore = closeStore
	c.registerRecovery()
	c.sip, err = sip.NewServer(sip.Config{
		Address: cfg.SIP.Address, Transports: cfg.SIP.Transports, UserAgent: cfg.SIP.UserAgent,
		Registrar: c.reg, Trunks: c.trunk, Handler: c.engine, Observer: c.metrics,
		Logger: c.log.With("part", "sip"), Now: c.now, Limits: edgeLimits(cfg.Limits),
		Admission: engineAdmission{c.engine}, MinSessionExpires: cfg.SIP.MinSessionExpires,
		TLS:           sipTLS(cfg.SIP.TLS),
		SeatKeepalive: cfg.SIP.SeatKeepalive,
	})
	if err != nil {
		return err
	}
	if err := c.sip.Listen(); err != nil {
		return err
	}
	c.trunks = startTrunkHealth(cfg, c.sip, c.now, c.log.With("part", "trunks"), c.metrics.SetTrunkUp, c.stopRetention)
	c.engine.Start(call.SIPDialer(c.sip))
	c.metrics.RegisterQueueSource(c.queueGauges)
	c.http = supervisor.NewServer(supervisor.ServerConfig{
		Address: cfg.HTTP.Address.String(), Token: cfg.HTTP.Token, ReadToken: cfg.HTTP.ReadToken, Logger: c.log.With("part", "http"),
		Metrics: c.metrics, State: liveState{c}, Healthy: func() bool { return !c.engine.Draining() },
	})
	c.http.Handle("POST /api/v1/agents/{ext}/state", http.HandlerFunc(c.agentState), true)
	c.http.Handle("GET /api/v1/directory", http.HandlerFunc(c.directory), false)
	c.http.Handle("GET /api/v1/events", http.HandlerFunc(c.events), false)
	c.http.Handle("GET /api/v1/missed", http.HandlerFunc(c.missed.serve), false)
	c.http.Handle("GET /api/v1/centre", http.HandlerFunc(c.centreNow), false)
	c.http.Handle("GET /api/v1/trunks", http.HandlerFunc(c.trunks.serve), false)
	c.http.Handle("GET /api/v1/wallboard", http.HandlerFunc(c.wallboardData), false)
	c.http.Handle("GET /wallboard", http.HandlerFunc(c.serveWallboard), false)
	c.http.Handle("POST /api/v1/calls/{id}/transfer", http.HandlerFunc(c.transferStart), true)
	c.http.Handle("POST /api/v1/calls/{id}/transfer/{op}", http.HandlerFunc(c.transferOp), true)
	c.http.Handle("POST /api/v1/calls/{id}/monitor", http.HandlerFunc(c.monitorStart), true)
	c.http.Handle("PATCH /api/v1/calls/{id}/monitor", http.HandlerFunc(c.monitorMode), true)
	c.http.Handle("DELETE /api/v1/calls/{id}/monitor", http.HandlerFunc(c.monitorStop), true)
	c.http.Handle("POST /api/v1/calls/{id}/recording", http.HandlerFunc(c.recordingOp), true)
	c.http.Handle("POST /api/v1/outbound", http.HandlerFunc(c.outboundStart), true)
	return nil
}

// edgeLimits is the SIP edge's part of the limits section.
func edgeLimits(l config.Limits) sip.Limits {
	return sip.Limits{
		MaxCalls: l.MaxCalls, TrunkCallsPerSecond: l.TrunkCallsPerSecond,
		SourceRequestsPerSecond: l.SourceRequestsPerSecond, SourceRegistersPerSecond: l.SourceRegistersPerSecond,
		TCPConnectionsPerSource: l.TCPConnectionsPerSource, TCPIdleTimeout: l.TCPIdleTimeout,
		RetryAfter: l.RetryAfter,
	}
}

func (c *centre) password(ext string) (string, bool) {
	s, ok := c.cfg.Load().Seat(ext)
	return s.Password, ok
}

// seatAllowed is the registrar's Admit: seat networks and trunk addresses,
// from the config in force.
func (c *centre) seatAllowed(_ string, src netip.AddrPort, host string, port int) error {
	return c.cfg.Load().SeatAllowed(src.Addr(), host, port)
}

func (c *centre) trunk(ip netip.Addr) (string, bool) {
	t, ok := c.cfg.Load().TrunkFor(ip)
	return t.Name, ok
}

func (c *centre) registrationChanged(r sip.Registration, registered bool) {
	c.metrics.SetRegistrations(c.reg.Count())
	c.log.Info("registration", "seat", r.Extension, "registered", registered, "contact", r.Contact)
	c.engine.SeatRegistered(r, registered)
}

func (c *centre) rtpStats() supervisor.RTPStats {
	s := c.media.Stats()
	dropped := make(map[string]uint64, len(s.Dropped))
	for why, n := range s.Dropped {
		dropped[media.DropReason(why).String()] = n
	}
	return supervisor.RTPStats{
		Received: s.PacketsIn, Sent: s.PacketsOut, Relayed: s.PacketsRelayed, Dropped: dropped,
		Timeouts: s.Timeouts, Sessions: int(s.ActiveSessions), RoomsMixing: s.RoomsMixing,
		Recordings: s.Recordings,
		KernelPath: c.media.FastPath() == "kernel", KernelLegs: s.KernelLegs, KernelRelayed: s.KernelRelayed,
	}
}

// agentState serves POST /api/v1/agents/{ext}/state (bearer token):
// {"state": "login"|"logout"|"ready"|"not_ready", "reason": "break"}.
func (c *centre) agentState(w http.ResponseWriter, r *http.Request) {
	var body struct{ State, Reason string }
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&body); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be JSON: " + err.Error()})
		return
	}
	kinds := map[string]acd.CommandKind{"login": acd.CmdLogin, "logout": acd.CmdLogout, "ready": acd.CmdReady, "not_ready": acd.CmdNotReady}
	kind, ok := kinds[body.State]
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "state must be login, logout, ready or not_ready"})
		return
	}
	if kind == acd.CmdNotReady && body.Reason == "" {
		body.Reason = acd.ReasonBreak
	}
	st, err := c.engine.AgentCommand(r.PathValue("ext"), acd.Command{Kind: kind, Reason: body.Reason})
	switch {
	case errors.Is(err, acd.ErrUnknownAgent), errors.Is(err, store.ErrNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
	case err != nil:
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
	default:
		writeJSON(w, http.StatusOK, st)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// waitSignals returns on SIGTERM or SIGINT; SIGHUP reloads the config.
func (c *centre) waitSignals() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	for s := range sigs {
		if s != syscall.SIGHUP {
			return
		}
		c.reload()
	}
}

// reload re-reads the config file for new calls. Listen addresses, ports and
// the data folder are fixed at start; a change to them is logged and ignored.
func (c *centre) reload() {
	if c.path == "" {
		c.log.Info("reload: the embedded demo centre has nothing to reload")
		return
	}
	cfg, err := config.Load(c.path)
	if err != nil {
		c.log.Error("reload refused: the running config stays", "error", err)
		return
	}
	old := c.cfg.Load()
	if cfg.SIP.Address != old.SIP.Address || cfg.HTTP.Address != old.HTTP.Address || cfg.RTP != old.RTP {
		c.log.Warn("reload: listen addresses and RTP ports change only on restart")
	}
	if tlsChanged(old.SIP.TLS, cfg.SIP.TLS) {
		c.log.Warn("reload: sip.tls (listener, certificate, key, CA) changes only on restart")
	}
	cfg.DataDir = old.DataDir
	if err := c.engine.Reload(cfg); err != nil {
		c.log.Error("reload refused: the running config stays", "error", err)
		return
	}
	c.sip.SetLimits(edgeLimits(cfg.Limits))
	c.cfg.Store(cfg)
	c.log.Info("config reloaded", "file", c.path, "seats", len(cfg.Seats), "lines", len(cfg.Lines))
}

// registerRecovery exports the ACD's crash recovery counts on /metrics.
func (c *centre) registerRecovery() {
	c.metrics.Registry().MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hotline_seats_recovered_total",
			Help: "Seats freed because the engine node holding their call died, restarted or lost the call.",
		}, func() float64 { n, _ := c.engine.Recovered(); return float64(n) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hotline_queue_entries_recovered_total",
			Help: "Queue entries deleted because the engine node that put them died, restarted or lost the call.",
		}, func() float64 { _, n := c.engine.Recovered(); return float64(n) }),
	)
}

// panicCounts reads the recovered panics for /metrics.
func panicCounts() []supervisor.PanicCount {
	var out []supervisor.PanicCount
	for _, e := range guard.Counts() {
		out = append(out, supervisor.PanicCount{Component: e.Component, N: e.N})
	}
	return out
}

// engineAdmission asks the call engine whether a new call may start
// (limits.max_waiting), after the SIP edge's own limits.
type engineAdmission struct{ e *call.Engine }

func (a engineAdmission) Admit(sip.Origin) (string, bool) { return a.e.Admit() }

// sipTLS is the SIP edge's TLS from the config's sip.tls (nil: none).
func sipTLS(t *config.TLS) *sip.TLSConfig {
	if t == nil {
		return nil
	}
	return &sip.TLSConfig{Listen: t.Listen, Certificate: t.Certificate, Roots: t.Roots}
}

// tlsAddr is the TLS listener's address for the ready line ("" for none).
func tlsAddr(s *sip.Server) string {
	if a := s.BoundAddr("tls"); a.IsValid() {
		return a.String()
	}
	return ""
}

// tlsChanged: sip.tls differs between two configs (its files compared by
// what they hold).
func tlsChanged(a, b *config.TLS) bool {
	if a == nil || b == nil {
		return a != b
	}
	return a.Listen != b.Listen || !slices.EqualFunc(a.Certificate.Certificate, b.Certificate.Certificate, bytes.Equal) ||
		a.CA != b.CA || (a.Roots != nil && b.Roots != nil && !a.Roots.Equal(b.Roots))
}
