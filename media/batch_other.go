//go:build !linux

package media

import (
	"errors"
	"net/netip"
)

// batchSize is what a Linux batch would carry (for the log line).
const batchSize = 0

// sendBatch is Linux-only (sendmmsg on a raw socket); elsewhere the pacer
// sends on each session's socket.
type sendBatch struct{}

func newSendBatch() (*sendBatch, error) { return nil, errors.New("batched sends need Linux") }

func (b *sendBatch) add(*Session, netip.AddrPort, netip.AddrPort, []byte) bool { return false }
func (b *sendBatch) flush()                                                    {}
func (b *sendBatch) close()                                                    {}
