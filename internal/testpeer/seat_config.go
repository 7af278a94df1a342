package testpeer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// BaresipBinary is the softphone the seats run (Debian's baresip-core).
const BaresipBinary = "baresip"

// baresipModules is where Debian installs baresip's modules.
const baresipModules = "/usr/lib/baresip/modules"

// SeatOptions describes one baresip agent seat.
type SeatOptions struct {
	Extension, Password string
	Registrar           string   // "127.0.0.1:PORT" (the engine's SIP address); "" = do not register
	SIPPort             int      // 0 = FreePortPair (baresip binds TLS on SIPPort+1)
	Codecs              []string // e.g. {"pcmu"} or {"pcma"}; default pcmu,pcma
	Source              string   // WAV (8 kHz mono 16-bit) used as microphone (aufile); "" = ausine
	SineHz              int      // ausine frequency; 0 = 440
	Record              bool     // sndfile: record what it hears into Dir (dump-*-dec.wav)
	AutoAnswer          bool
	Transport           string // "udp" (default), "tcp" or "tls"
	// MediaEnc is baresip's media encryption: "" none, "srtp" (SDES best
	// effort), "srtp-mand" (SDES, RTP/SAVP, mandatory); module srtp.
	MediaEnc string
	// CAFile is the CA baresip verifies the registrar's TLS certificate
	// with (sip_cafile).
	CAFile string
}

// seatPorts are the loopback ports one seat uses.
type seatPorts struct{ sip, ctrl int }

// writeSeatFiles writes config and accounts for a seat into dir.
func writeSeatFiles(dir string, o SeatOptions, ports seatPorts) error {
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(seatConfig(dir, o, ports)), 0o644); err != nil {
		return fmt.Errorf("seat config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(seatAccount(o)+"\n"), 0o644); err != nil {
		return fmt.Errorf("seat accounts: %w", err)
	}
	return nil
}

func seatConfig(dir string, o SeatOptions, ports seatPorts) string {
	lines := []string{
		"poll_method epoll",
		fmt.Sprintf("sip_listen 127.0.0.1:%d", ports.sip),
		"net_interface 127.0.0.1",
		"call_local_timeout 120",
		"call_max_calls 4",
		"audio_player aubridge,nil",
		"audio_alert aubridge,nil",
		"audio_buffer 20-160",
		"jitter_buffer_delay 1-10",
		"rtp_ports 20000-59999",
		"rtp_timeout 0",
		"module_path " + baresipModules,
		"module g711.so",
		"module aubridge.so",
		fmt.Sprintf("ctrl_tcp_listen 127.0.0.1:%d", ports.ctrl),
		"snd_path " + dir,
	}
	lines = append(lines, sourceLines(o)...)
	if o.MediaEnc != "" {
		lines = append(lines, "module srtp.so")
	}
	if o.CAFile != "" {
		lines = append(lines, "sip_cafile "+o.CAFile)
	}
	if o.Record {
		lines = append(lines, "module sndfile.so")
	}
	lines = append(lines, "module_app account.so", "module_app menu.so", "module_app ctrl_tcp.so")
	return strings.Join(lines, "\n") + "\n"
}

// sourceLines selects the microphone: a WAV file (aufile) or a sine (ausine,
// which only runs at 48 kHz stereo, so the source is resampled by baresip).
func sourceLines(o SeatOptions) []string {
	if o.Source != "" {
		return []string{"module aufile.so", "audio_source aufile," + o.Source}
	}
	hz := o.SineHz
	if hz == 0 {
		hz = 440
	}
	return []string{"module ausine.so", fmt.Sprintf("audio_source ausine,%d", hz),
		"ausrc_srate 48000", "ausrc_channels 2"}
}

// seatAccount is the accounts line: the AOR with the registrar, digest
// credentials, answer mode and codecs.
func seatAccount(o SeatOptions) string {
	host := o.Registrar
	if host == "" {
		host = "127.0.0.1"
	}
	uri := fmt.Sprintf("sip:%s@%s", o.Extension, host)
	if o.Transport == "tcp" || o.Transport == "tls" {
		uri += ";transport=" + o.Transport
	}
	params := []string{"<" + uri + ">"}
	if o.Password != "" {
		params = append(params, "auth_user="+o.Extension, "auth_pass="+o.Password)
	}
	if o.Registrar == "" {
		params = append(params, "regint=0")
	} else {
		params = append(params, "regint=600")
	}
	mode := "manual"
	if o.AutoAnswer {
		mode = "auto"
	}
	codecs := o.Codecs
	if len(codecs) == 0 {
		codecs = []string{"pcmu", "pcma"}
	}
	params = append(params, "answermode="+mode, "audio_codecs="+strings.Join(codecs, ","))
	if o.MediaEnc != "" {
		params = append(params, "mediaenc="+o.MediaEnc)
	}
	return strings.Join(params, ";")
}
