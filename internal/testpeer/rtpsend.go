package testpeer

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/pion/rtp"
)

// sendJob is one queued transmission: PCM frames or one RFC 4733 digit.
type sendJob struct {
	remote netip.AddrPort
	pt     uint8
	pcm    []int16
	digit  rune
	done   chan struct{}
}

// txState is the outgoing stream: one SSRC with continuous sequence numbers
// and timestamps across jobs. Only the sender goroutine touches it.
type txState struct {
	hdr  rtp.Header
	buf  []byte
	body []byte
}

func newTxState() txState {
	return txState{
		hdr: rtp.Header{
			Version: 2, SSRC: rand.Uint32(),
			SequenceNumber: uint16(rand.Uint32()), Timestamp: rand.Uint32(),
		},
		buf:  make([]byte, rtpBufSize),
		body: make([]byte, 0, frameSamples),
	}
}

// SendTone queues hz (a sine at half of full scale) for d, as paced 20 ms
// G.711 frames with payload type pt (0 µ-law, 8 A-law). A zero remote means:
// send to where packets come from, once one has arrived. Returns at once;
// WaitSent waits for the queue to drain.
func (p *RTPPeer) SendTone(remote netip.AddrPort, pt uint8, hz float64, d time.Duration) {
	p.SendPCM(remote, pt, Tone(hz, d, 16000))
}

// SendPCM queues pcm (8 kHz) as paced 20 ms G.711 frames (the last frame is
// padded with silence). Returns at once.
func (p *RTPPeer) SendPCM(remote netip.AddrPort, pt uint8, pcm []int16) {
	p.enqueue(sendJob{remote: remote, pt: pt, pcm: pcm})
}

// SendDTMF queues one RFC 4733 digit (0-9, *, #, A-D) with payload type pt
// (usually 101): 100 ms of event packets, then three end packets.
func (p *RTPPeer) SendDTMF(remote netip.AddrPort, pt uint8, digit rune) {
	p.enqueue(sendJob{remote: remote, pt: pt, digit: digit})
}

// WaitSent blocks until every queued send has been transmitted and returns
// the first send error (e.g. ErrRTPNoRemote).
func (p *RTPPeer) WaitSent(timeout time.Duration) error {
	p.mu.Lock()
	last := p.lastJob
	p.mu.Unlock()
	if last != nil {
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		select {
		case <-last:
		case <-timer.C:
			return fmt.Errorf("%w: sending not finished after %v", ErrRTPTimeout, timeout)
		case <-p.closed:
			return ErrRTPClosed
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sendErr
}

func (p *RTPPeer) enqueue(j sendJob) {
	j.done = make(chan struct{})
	p.mu.Lock()
	p.lastJob = j.done
	p.mu.Unlock()
	select {
	case p.jobs <- j:
	case <-p.closed:
	}
}

func (p *RTPPeer) sendLoop() {
	defer p.loops.Done()
	for {
		select {
		case j := <-p.jobs:
			err := p.runJob(j)
			p.finishJob(j, err)
		case <-p.closed:
			return
		}
	}
}

func (p *RTPPeer) finishJob(j sendJob, err error) {
	p.mu.Lock()
	if err != nil && p.sendErr == nil {
		p.sendErr = err
	}
	p.mu.Unlock()
	close(j.done)
}

func (p *RTPPeer) runJob(j sendJob) error {
	remote, err := p.resolveRemote(j.remote)
	if err != nil {
		return err
	}
	ticker := time.NewTicker(frameInterval)
	defer ticker.Stop()
	if j.digit != 0 {
		return p.sendDigit(remote, j, ticker)
	}
	return p.sendFrames(remote, j, ticker)
}

// resolveRemote returns remote, or the learned source once a packet arrived.
func (p *RTPPeer) resolveRemote(remote netip.AddrPort) (netip.AddrPort, error) {
	if remote.IsValid() {
		return remote, nil
	}
	timer := time.NewTimer(learnTimeout)
	defer timer.Stop()
	select {
	case <-p.countReached(1):
		return p.Source(), nil
	case <-timer.C:
		return netip.AddrPort{}, ErrRTPNoRemote
	case <-p.closed:
		return netip.AddrPort{}, ErrRTPClosed
	}
}

func (p *RTPPeer) sendFrames(remote netip.AddrPort, j sendJob, ticker *time.Ticker) error {
	tx := &p.tx
	tx.hdr.PayloadType = j.pt
	for off := 0; off < len(j.pcm); off += frameSamples {
		frame := j.pcm[off:min(off+frameSamples, len(j.pcm))]
		tx.body = EncodeG711(tx.body[:0], j.pt, frame)
		tx.body = EncodeG711(tx.body, j.pt, silence[:frameSamples-len(frame)])
		tx.hdr.Marker = off == 0
		if err := p.writePacket(remote, tx.body); err != nil {
			return err
		}
		tx.hdr.Timestamp += frameSamples
		if !p.tick(ticker) {
			return ErrRTPClosed
		}
	}
	return nil
}

// silence pads the last frame of a job.
var silence [frameSamples]int16

// dtmfFrames is the event length in 20 ms packets (100 ms) before the end.
const (
	dtmfFrames    = 5
	dtmfEndCopies = 3
	dtmfVolume    = 10
)

func (p *RTPPeer) sendDigit(remote netip.AddrPort, j sendJob, ticker *time.Ticker) error {
	ev, ok := digitEvent(j.digit)
	if !ok {
		return fmt.Errorf("testpeer: not a DTMF digit: %q", j.digit)
	}
	tx := &p.tx
	tx.hdr.PayloadType = j.pt
	for i := 1; i <= dtmfFrames+dtmfEndCopies; i++ {
		end := i > dtmfFrames
		dur := uint16(min(i, dtmfFrames) * frameSamples)
		tx.body = append(tx.body[:0], ev, dtmfVolume, 0, 0)
		if end {
			tx.body[1] |= 0x80
		}
		binary.BigEndian.PutUint16(tx.body[2:], dur)
		tx.hdr.Marker = i == 1
		if err := p.writePacket(remote, tx.body); err != nil {
			return err
		}
		if !end || i == dtmfFrames+dtmfEndCopies {
			if !p.tick(ticker) {
				return ErrRTPClosed
			}
		}
	}
	tx.hdr.Timestamp += dtmfFrames * frameSamples
	return nil
}

func (p *RTPPeer) writePacket(remote netip.AddrPort, payload []byte) error {
	tx := &p.tx
	n, err := tx.hdr.MarshalTo(tx.buf)
	if err != nil {
		return err
	}
	n += copy(tx.buf[n:], payload)
	tx.hdr.SequenceNumber++
	if _, err := p.conn.WriteToUDPAddrPort(tx.buf[:n], remote); err != nil {
		return fmt.Errorf("testpeer: rtp send: %w", err)
	}
	return nil
}

func (p *RTPPeer) tick(ticker *time.Ticker) bool {
	select {
	case <-ticker.C:
		return true
	case <-p.closed:
		return false
	}
}

// Tone returns d of a sine at hz, 8 kHz, with the given peak amplitude.
func Tone(hz float64, d time.Duration, amplitude float64) []int16 {
	n := int(d.Seconds() * 8000)
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amplitude * math.Sin(2*math.Pi*hz*float64(i)/8000))
	}
	return out
}

const dtmfDigits = "0123456789*#ABCD"

func digitEvent(d rune) (uint8, bool) {
	for i, c := range dtmfDigits {
		if c == d {
			return uint8(i), true
		}
	}
	return 0, false
}

func eventDigit(ev uint8) rune {
	if int(ev) < len(dtmfDigits) {
		return rune(dtmfDigits[ev])
	}
	return 0
}
