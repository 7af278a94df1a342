package call

import (
	"encoding/binary"
	"maps"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/queue"
	"github.com/hotline-cc/hotline/store"
)

// minimalCentre has no acd, queues or store sections: every default.
const minimalCentre = `centre: test
sip: {address: 127.0.0.1:0}
rtp: {address: 127.0.0.1}
http: {address: 127.0.0.1:0, token: test-token}
skills: [general, market]
`

// silentWAV is an 8 kHz mono 16-bit PCM WAV with no samples.
func silentWAV() []byte {
	b := make([]byte, 44)
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], 36)
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], 1)
	binary.LittleEndian.PutUint32(b[24:], 8000)
	binary.LittleEndian.PutUint32(b[28:], 16000)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	return b
}

func parseCentre(t *testing.T, text string) *config.Config {
	t.Helper()
	fsys := fstest.MapFS{"prompts/welcome.wav": {Data: silentWAV()}, "prompts/hold.wav": {Data: silentWAV()}}
	for _, name := range config.CallbackPrompts {
		fsys["prompts/"+name] = &fstest.MapFile{Data: silentWAV()}
	}
	cfg, err := config.Parse("test.yaml", []byte(text), fsys)
	if err != nil {
		t.Fatalf("config refused:\n%v", err)
	}
	return cfg
}

// TestACDConfigDefaultsAgree: config's defaults are the ACD's, so a centre
// without the sections runs as the engine did before they existed.
func TestACDConfigDefaultsAgree(t *testing.T) {
	cfg := parseCentre(t, minimalCentre)
	got := acdConfigFrom(cfg)
	want := acd.Config{AutoLogin: true, Queues: []queue.Config{{Name: "general"}, {Name: "market"}}}.WithDefaults()
	if got.MaxMisses != want.MaxMisses || got.RetryTried != want.RetryTried || got.StaleOffer != want.StaleOffer ||
		got.CallbackLead != want.CallbackLead || got.AutoLogin != want.AutoLogin {
		t.Errorf("acd settings %+v, want %+v", got, want)
	}
	f, wf := got.Features, want.Features
	if f.Login != wf.Login || f.Logout != wf.Logout || f.NotReady != wf.NotReady || f.Ready != wf.Ready || !maps.Equal(f.Reasons, wf.Reasons) {
		t.Errorf("features %+v, want %+v", f, wf)
	}
	if !slices.EqualFunc(got.Queues, want.Queues, queueEqual) {
		t.Errorf("queues\n got %+v\nwant %+v", got.Queues, want.Queues)
	}
	if errs := got.Validate(); len(errs) > 0 {
		t.Errorf("Validate: %v", errs)
	}
	if cfg.Store.Redis.Prefix != store.DefaultRedisPrefix {
		t.Errorf("redis prefix %q, store's default %q", cfg.Store.Redis.Prefix, store.DefaultRedisPrefix)
	}
}

func queueEqual(a, b queue.Config) bool {
	return a.Name == b.Name && a.Skill == b.Skill && a.MinLevel == b.MinLevel && a.Strategy == b.Strategy &&
		slices.EqualFunc(a.Escalation, b.Escalation, func(x, y queue.Step) bool {
			return x.After == y.After && x.MinLevel == y.MinLevel && slices.Equal(x.Skills, y.Skills)
		}) &&
		a.WrapUp == b.WrapUp && a.ServiceLevel == b.ServiceLevel && a.MaxWait == b.MaxWait && a.OnMaxWait == b.OnMaxWait &&
		a.MaxLength == b.MaxLength && a.OnFull == b.OnFull && a.AnnounceEvery == b.AnnounceEvery &&
		a.Callback == b.Callback && a.DefaultHandle == b.DefaultHandle && a.CallbackExpiry == b.CallbackExpiry
}

// TestACDConfigFromFile converts every queue setting, escalation to queues,
// each destination kind and the feature codes.
func TestACDConfigFromFile(t *testing.T) {
	cfg := parseCentre(t, minimalCentre+`trunks:
  - {name: carrier, acl: [127.0.0.1], outbound: "sip:127.0.0.1:5070"}
acd:
  feature_codes: {login: "*21", reasons: {5: lunch}}
  max_misses: 2
  retry_tried: 5s
  stale_offer: 90s
  callback_lead: 20s
  auto_login: false
queues:
  - name: general
    min_level: 4
    strategy: skill_level
    wrap_up: 10s
    service_level: 20s
    max_wait: 120s
    on_max_wait: queue complaints
    announce_every: 30s
    default_handle: 4m
    escalation:
      - {after: 30s, min_level: 2}
      - {after: 60s, skills: [general], queues: [complaints, market]}
  - name: complaints
    skill: market
    callback: true
    max_wait: 60s
    on_max_wait: callback
    max_length: 5
    on_full: target sip:12315@127.0.0.1:5093
  - {name: overflow, skill: general, max_length: 1, on_full: message welcome.wav}
`)
	got := acdConfigFrom(cfg)
	if errs := got.Validate(); len(errs) > 0 {
		t.Fatalf("Validate: %v", errs)
	}
	f := got.Features
	if f.Login != "*21" || f.Logout != "*12" || f.Reasons["5"] != "lunch" || len(f.Reasons) != 1 {
		t.Errorf("features %+v", f)
	}
	if got.MaxMisses != 2 || got.RetryTried != 5*time.Second || got.StaleOffer != 90*time.Second ||
		got.CallbackLead != 20*time.Second || got.AutoLogin {
		t.Errorf("acd %+v", got)
	}
	want := []queue.Config{
		{Name: "general", Skill: "general", MinLevel: 4, Strategy: queue.SkillLevel, WrapUp: 10 * time.Second,
			ServiceLevel: 20 * time.Second, MaxWait: 2 * time.Minute,
			OnMaxWait:     queue.Destination{Kind: queue.DestQueue, Queue: "complaints"},
			AnnounceEvery: 30 * time.Second, DefaultHandle: 4 * time.Minute,
			Escalation: []queue.Step{{After: 30 * time.Second, MinLevel: 2},
				{After: time.Minute, Skills: []string{"general", "market"}}}},
		{Name: "complaints", Skill: "market", MinLevel: 1, Strategy: queue.LongestIdle, ServiceLevel: 15 * time.Second,
			MaxWait: time.Minute, OnMaxWait: queue.Destination{Kind: queue.DestCallback}, Callback: true,
			CallbackExpiry: 4 * time.Hour, MaxLength: 5, OnFull: queue.Destination{Kind: queue.DestTarget, Target: "sip:12315@127.0.0.1:5093"},
			DefaultHandle: 3 * time.Minute},
		{Name: "overflow", Skill: "general", MinLevel: 1, Strategy: queue.LongestIdle, ServiceLevel: 15 * time.Second,
			MaxLength: 1, OnFull: queue.Destination{Kind: queue.DestMessage, Message: "welcome.wav"}, DefaultHandle: 3 * time.Minute},
		{Name: "market", Skill: "market", MinLevel: 1, Strategy: queue.LongestIdle, ServiceLevel: 15 * time.Second,
			DefaultHandle: 3 * time.Minute},
	}
	if !slices.EqualFunc(got.Queues, want, queueEqual) {
		t.Errorf("queues\n got %+v\nwant %+v", got.Queues, want)
	}
}

// TestACDConfigFromHandBuilt: a Config built in Go (no implied queues) still
// gets one queue per skill, and converting does not share the reasons map.
func TestACDConfigFromHandBuilt(t *testing.T) {
	reasons := map[string]string{"1": "break"}
	cfg := &config.Config{
		Skills: []string{"general", "market"},
		ACD: config.ACD{Features: config.FeatureCodes{Login: "*11", Logout: "*12", NotReady: "*13", Ready: "*14", Reasons: reasons},
			MaxMisses: 3, AutoLogin: true},
		Queues: []config.Queue{{Name: "market", Skill: "market", MinLevel: 1, Strategy: config.StrategyFewestCalls}},
	}
	got := acdConfigFrom(cfg)
	names := []string{}
	for _, q := range got.Queues {
		names = append(names, q.Name+"/"+q.Skill+"/"+string(q.Strategy))
	}
	if !slices.Equal(names, []string{"market/market/fewest_calls", "general/general/longest_idle"}) {
		t.Errorf("queues %v", names)
	}
	got.Features.Reasons["9"] = "x"
	if len(reasons) != 1 {
		t.Error("the config's reasons map was shared")
	}
	if errs := got.Validate(); len(errs) > 0 {
		t.Errorf("Validate: %v", errs)
	}
}

// TestACDConfigDemo: the demo centre converts to a valid ACD config with the
// callback-enabled general queue.
func TestACDConfigDemo(t *testing.T) {
	cfg, err := config.Load("../testdata/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := acdConfigFrom(cfg)
	if errs := got.Validate(); len(errs) > 0 {
		t.Fatalf("Validate: %v", errs)
	}
	if len(got.Queues) != len(cfg.Skills) {
		t.Errorf("%d queues for %d skills", len(got.Queues), len(cfg.Skills))
	}
	g := got.Queues[0]
	if g.Name != "general" || g.WrapUp != 10*time.Second || g.AnnounceEvery != 30*time.Second {
		t.Errorf("general %+v", g)
	}
	if cmd, ok := got.Features.Parse("*132"); !ok || cmd.Kind != acd.CmdNotReady || cmd.Reason != acd.ReasonMeal {
		t.Errorf("*132 = %+v, %v", cmd, ok)
	}
}
