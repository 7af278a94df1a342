package config

import (
	"io/fs"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Line modes: how an inbound number is integrated into the centre.
const (
	ModeMain      = "main"      // the 12345 front door
	ModeMerge     = "merge"     // legacy number merged directly (融合)
	ModeForward   = "forward"   // legacy number forwarded into 12345 (来电转移)
	ModeParallel  = "parallel"  // the department answers its own number too (并行接听)
	ModeSubcentre = "subcentre" // vertically managed sub-centre (分中心)
)

// Transports accepted in sip.transports.
const (
	TransportUDP = "udp"
	TransportTCP = "tcp"
)

// DemoPasswordPrefix marks a seat password as a demo password.
const DemoPasswordPrefix = "demo-"

// Config is one centre, validated. It is immutable after Load or Parse: callers
// read it from any goroutine and must not modify it (nor the slices inside).
type Config struct {
	File    string // file name used in messages
	FS      fs.FS  // prompt files; prompts.dir already applied
	Centre  string
	SIP     SIP
	RTP     RTP
	HTTP    HTTP
	DataDir string
	// Location is the centre's time zone (timezone key; default the
	// machine's): business hours, holidays, announcements and the
	// records' day files are read in it.
	Location      *time.Location
	ShutdownGrace time.Duration
	Prompts       Prompts
	Skills        []string
	Trunks        []Trunk
	Lines         []Line
	Emergency     []Emergency
	Seats         []Seat
	// Directory is the transfer directory: the file's entries, then one
	// for each parallel or subcentre line and emergency number they leave
	// out. Directory.Resolve finds what an agent keyed.
	Directory Directory

	// DefaultIVR names the tree of lines without an ivr key ("": the
	// built-in greeting, then the line's skill queue). IVRs are the trees by
	// name; Hours the business-hours sets by name.
	DefaultIVR string
	IVRs       map[string]IVRTree
	Hours      map[string]Hours
	Calendar   Calendar

	// ACD, Queues and Store configure the automatic call distributor.
	// Queues holds the file's queues in order, then the implied default
	// queue of every skill without a queue named after it.
	ACD    ACD
	Queues []Queue
	Store  Store

	// Limits is admission control: calls, rates per trunk and per source.
	Limits Limits

	// Records: how the call records' journal is synced (records/journal.go).
	Records Records
	// Recordings: their retention.
	Recordings Recordings
	// Wallboard: the hall screen's title and warning lights.
	Wallboard Wallboard

	// CallbackNumbers are the numbers a queue callback may dial (the
	// caller's number must match one); DefaultCallbackNumbers when the file
	// gives none. A caller whose number matches none is not offered a
	// callback.
	CallbackNumbers []NumberPattern
	// CallingHours names the hours set within which outbound calls
	// (POST /api/v1/outbound) may be placed; "" means at any time.
	CallingHours string
}

// SIP is the sip section. Register* are the REGISTER expiry bounds.
type SIP struct {
	Address                                   netip.AddrPort
	Transports                                []string
	Realm, UserAgent                          string
	NonceTTL                                  time.Duration
	RegisterMin, RegisterMax, RegisterDefault time.Duration
	MaxAuthFailures                           int
	AuthLockout                               time.Duration // the first lock-out; each further one doubles, up to 24 h
	SeatRingTimeout                           time.Duration
	// MinSessionExpires is the shortest session interval (RFC 4028) a
	// caller may ask for; shorter gets 422 with Min-SE. Whole seconds.
	MinSessionExpires time.Duration
	// SeatKeepalive is how often seats registered over UDP are sent an
	// OPTIONS (NAT keep-alive; three unanswered drop the binding); 0 = off.
	SeatKeepalive time.Duration
	// SeatSessionExpires, when not 0, is the session interval (RFC 4028)
	// asked of seats the engine rings; the engine refreshes. Whole seconds.
	SeatSessionExpires time.Duration
	// SeatNetworks are where seats may register from and be dialled at.
	SeatNetworks []netip.Prefix
	// TLS is the SIP over TLS listener; nil when there is none.
	TLS *TLS
	// SeatSRTP is the SRTP policy of seats without their own (SRTPOff,
	// SRTPOffer or SRTPRequire).
	SeatSRTP string
}

// HasTransport reports whether t ("udp" or "tcp") is enabled.
func (s SIP) HasTransport(t string) bool { return slices.Contains(s.Transports, t) }

// RTP is the rtp section: the address bound and advertised in SDP, the even
// port range [PortMin, PortMax], the media timeout (0 disables it), and
// whether the prompt pacer batches its sends (sendmmsg on a raw socket),
// and whether bridged legs may be relayed by the kernel (FastPath: one of
// the FastPath constants).
type RTP struct {
	Address netip.Addr
	// Address6, when valid, is a second media address, IPv6, for offers
	// and answers whose media is on IPv6 (c=IN IP6) while Address is IPv4.
	Address6         netip.Addr
	PortMin, PortMax int
	Timeout          time.Duration
	BatchSends       bool
	FastPath         string
}

// rtp.fast_path values.
const (
	FastPathAuto = "auto" // the kernel fast path where it loads, else user space
	FastPathOff  = "off"  // every packet through user space
)

// HTTP is the http section. Token is the admin bearer token every /api/v1/
// route accepts; ReadToken ("" when unset) is accepted by the read-only ones.
type HTTP struct {
	Address          netip.AddrPort
	Token, ReadToken string
}

// Prompts: Welcome and HoldMusic are paths inside Config.FS. Sets maps each
// prompt set (language) to its folder inside Config.FS ("." is the folder
// itself); Language is the default set, whose folder holds every prompt that
// IVR nodes name (the other sets fall back to it).
type Prompts struct {
	Welcome, HoldMusic string
	Language           string
	Sets               map[string]string
}

// Trunk is a carrier trunk: INVITEs from ACL addresses are its calls. Empty
// Lines means the trunk may call every line.
type Trunk struct {
	Name  string
	ACL   []netip.Prefix
	Lines []string
	// Outbound is the carrier's address for calls the engine places through
	// the trunk (queue callbacks): sip:host[:port], no user part; "" when
	// the trunk only brings calls in.
	Outbound string
	// Ping is how often the engine sends OPTIONS to Outbound to know the
	// trunk is up (0, the default: never; it then counts as up).
	Ping time.Duration
	// Transport is how calls to Outbound go: "" (as the URI says, UDP by
	// default), TransportUDP, TransportTCP or TransportTLS.
	Transport string
	// SRTP is the trunk's SRTP policy ("" = SRTPOff).
	SRTP string
}

// defaultTrunkPing is a trunk's OPTIONS interval unless ping says: none
// (a carrier that does not answer OPTIONS would be taken for down; turn
// it on per trunk, e.g. ping: 30s).
const defaultTrunkPing = 0

// OutboundURI is the Request-URI that calls number through the trunk.
func (t Trunk) OutboundURI(number string) string {
	host, _ := strings.CutPrefix(t.Outbound, "sip:")
	if t.Transport != "" && !strings.Contains(host, ";transport=") {
		host += ";transport=" + t.Transport
	}
	return "sip:" + number + "@" + host
}

// MayCall reports whether the trunk may call the line number.
func (t Trunk) MayCall(number string) bool {
	return len(t.Lines) == 0 || slices.Contains(t.Lines, number)
}

// Line is an inbound number. Target, RingTimeout and Hours are set only for
// the parallel and subcentre modes; Hours names the department's working
// hours ("" means always). IVR names the line's tree ("": Config.DefaultIVR).
type Line struct {
	Number, Mode, Skill string
	Target              string
	RingTimeout         time.Duration
	Announcement        *Announcement
	IVR, Hours          string
}

// Announcement is a prompt played before anything else on a line while in
// force: from From (inclusive) until Until (exclusive), both local midnight.
type Announcement struct {
	Prompt      string // path inside Config.FS
	From, Until time.Time
}

// InForce reports whether the announcement applies at t.
func (a *Announcement) InForce(t time.Time) bool {
	return a != nil && !t.Before(a.From) && t.Before(a.Until)
}

// Emergency is an emergency linkage target (110, 119, 120, 122): never an
// inbound line, only called out to.
type Emergency struct{ Number, Target string }

// Seat is an agent seat (a SIP extension).
type Seat struct {
	Extension, Name, Password string
	Skills                    []SkillLevel
	// Role is RoleAgent or RoleSupervisor. A supervisor may monitor calls
	// of MonitorQueues (empty: every queue) whose agent is Monitorable.
	Role          string
	MonitorQueues []string
	// NotMonitorable: this agent's calls may not be monitored.
	NotMonitorable bool
	// SRTP is the seat's SRTP policy; "" = sip.seat_srtp.
	SRTP string
}

// Seat roles.
const (
	RoleAgent      = "agent"
	RoleSupervisor = "supervisor"
)

// MayMonitor reports whether s may monitor a call of queue whose agent is
// agent.
func (s Seat) MayMonitor(queue string, agent Seat) bool {
	if s.Role != RoleSupervisor || agent.NotMonitorable || s.Extension == agent.Extension {
		return false
	}
	return len(s.MonitorQueues) == 0 || slices.Contains(s.MonitorQueues, queue)
}

// IsDemo reports whether the seat has a demo password.
func (s Seat) IsDemo() bool { return strings.HasPrefix(s.Password, DemoPasswordPrefix) }

// Level returns the seat's level in skill, and false when it lacks it.
func (s Seat) Level(skill string) (int, bool) {
	for _, sl := range s.Skills {
		if sl.Skill == skill {
			return sl.Level, true
		}
	}
	return 0, false
}

// SkillLevel is one skill of a seat; Level is 1..10, higher is better.
type SkillLevel struct {
	Skill string
	Level int
}

// Line returns the line with the number.
func (c *Config) Line(number string) (Line, bool) {
	i := slices.IndexFunc(c.Lines, func(l Line) bool { return l.Number == number })
	if i < 0 {
		return Line{}, false
	}
	return c.Lines[i], true
}

// Seat returns the seat with the extension.
func (c *Config) Seat(ext string) (Seat, bool) {
	i := slices.IndexFunc(c.Seats, func(s Seat) bool { return s.Extension == ext })
	if i < 0 {
		return Seat{}, false
	}
	return c.Seats[i], true
}

// EmergencyTarget returns the SIP URI of an emergency number.
func (c *Config) EmergencyTarget(number string) (string, bool) {
	for _, e := range c.Emergency {
		if e.Number == number {
			return e.Target, true
		}
	}
	return "", false
}

// HasDemoPasswords reports whether any seat has a demo password.
func (c *Config) HasDemoPasswords() bool { return slices.ContainsFunc(c.Seats, Seat.IsDemo) }

// TrunkFor returns the trunk whose ACL admits addr. ACLs of different trunks
// never overlap (validated), so at most one trunk matches.
func (c *Config) TrunkFor(addr netip.Addr) (Trunk, bool) {
	addr = addr.Unmap()
	for _, t := range c.Trunks {
		for _, p := range t.ACL {
			if p.Contains(addr) {
				return t, true
			}
		}
	}
	return Trunk{}, false
}

// Wallboard is the hall screen (/wallboard): a queue's light is yellow
// when its service level today is under ServiceLevelYellow percent or
// its longest wait over LongestWaitYellow, red under ServiceLevelRed or
// over LongestWaitRed.
type Wallboard struct {
	Title                               string
	ServiceLevelYellow, ServiceLevelRed int
	LongestWaitYellow, LongestWaitRed   time.Duration
}

// Recordings: how long call recordings (DATA/recordings/YYYY-MM-DD/) are
// kept; 0 keeps them for ever.
type Recordings struct {
	Keep time.Duration
}

// Records configures the journal that makes call records crash-safe.
// Fsync is one of the Fsync constants; FsyncInterval is how often the
// interval policy syncs.
type Records struct {
	Fsync         string
	FsyncInterval time.Duration
	// Stream: records also go to a Redis Stream (zero Address: not).
	Stream RecordStream
	// Webhook: records are also POSTed to a URL ("" URL: not).
	Webhook Webhook
	// MissedWindow: how far back GET /api/v1/missed looks.
	MissedWindow time.Duration
}

// Webhook is an HTTP(S) endpoint every call record is POSTed to, signed
// with Secret (HMAC-SHA256, the Standard Webhooks headers).
type Webhook struct {
	URL     string
	Secret  string
	Timeout time.Duration
}

// RecordStream is a Redis Stream the call records are added to (XADD,
// trimmed to about MaxLen entries) for a ticket system to read.
type RecordStream struct {
	Address, Password string
	DB                int
	Key               string
	MaxLen            int
}

// Journal fsync policies (records.fsync).
const (
	FsyncAlways   = "always"
	FsyncInterval = "interval"
	FsyncNever    = "never"
)
