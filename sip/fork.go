package sip

import (
	"context"
	"sync"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Forked answers. An INVITE the engine sends (to a seat through a forking
// proxy, to a department, to a carrier) may be answered 2xx by more than
// one phone: each 2xx with its own To tag is a dialog of its own (RFC 3261
// 13.2.2.4). The leg keeps the first; every other one is acknowledged and
// ended with BYE, as the RFC asks, so no phone stays off-hook talking to
// nobody. sipgo hands the first 2xx to WaitAnswer and every later one to
// the transaction's retransmission hook (RFC 6026 "Accepted"), where a
// forkGuard, installed by sizeRouter on the INVITE's client transaction,
// tells retransmissions of the kept answer from forks by their To tag.
// A 2xx that arrives after WaitAnswer gave up (the INVITE was cancelled as
// the phone answered) is acknowledged and ended the same way.

// forkGuard watches one outgoing INVITE's 2xx answers.
type forkGuard struct {
	s      *Server
	invite *sipmsg.Request

	mu      sync.Mutex
	kept    string             // the To tag of the answer the leg keeps; "" before it is known
	gone    bool               // the leg kept none (WaitAnswer failed): every 2xx is ended
	done    map[string]bool    // To tags of forks already ended
	pending []*sipmsg.Response // 2xx answers seen before the leg decided
}

// guardForks registers a guard for invite, found by sizeRouter when the
// INVITE's transaction is made (again after a digest challenge); the leg
// calls release once WaitAnswer has returned, the hook staying on the
// transaction until sipgo ends it (Timer M, 64*T1 after the first 2xx).
func (s *Server) guardForks(invite *sipmsg.Request) *forkGuard {
	g := &forkGuard{s: s, invite: invite, done: make(map[string]bool)}
	s.forks.Store(invite, g)
	return g
}

func (g *forkGuard) release() { g.s.forks.Delete(g.invite) }

// watchForks installs the guard on the INVITE's client transaction, if req
// has one, and returns the transaction sipgo's dialog is to see.
func (s *Server) watchForks(req *sipmsg.Request, tx sipmsg.ClientTransaction) sipmsg.ClientTransaction {
	v, ok := s.forks.Load(req)
	if !ok {
		return tx
	}
	g := v.(*forkGuard)
	tx.OnRetransmission(g.onAnswer)
	return &forkTx{ClientTransaction: tx, g: g}
}

// forkTx is the INVITE transaction as sipgo's dialog sees it: the hook its
// ACK installs (re-send our ACK on every 2xx retransmission) is not shown a
// fork's 2xx, which it would answer with the kept dialog's ACK.
type forkTx struct {
	sipmsg.ClientTransaction
	g *forkGuard
}

func (t *forkTx) OnRetransmission(f sipmsg.FnTxResponse) bool {
	return t.ClientTransaction.OnRetransmission(func(res *sipmsg.Response) {
		if !t.g.isFork(res) {
			f(res)
		}
	})
}

// isFork reports whether res is a 2xx of another dialog than the kept one.
func (g *forkGuard) isFork(res *sipmsg.Response) bool {
	tag := toTag(res)
	g.mu.Lock()
	defer g.mu.Unlock()
	return res.IsSuccess() && tag != "" && (g.gone || g.kept != "" && tag != g.kept)
}

// keep records the To tag of the answer the leg keeps; gone=true says the
// leg keeps none.
// Answers that came while the leg was deciding are judged now.
func (g *forkGuard) keep(tag string, gone bool) {
	g.mu.Lock()
	g.kept, g.gone = tag, gone
	pending := g.pending
	g.pending = nil
	g.mu.Unlock()
	for _, res := range pending {
		g.onAnswer(res)
	}
}

// onAnswer sees every response after the transaction's first 2xx, on
// sipgo's transaction goroutine: it must not block, so the ACK and BYE of a
// fork go out on a goroutine of their own.
func (g *forkGuard) onAnswer(res *sipmsg.Response) {
	if !res.IsSuccess() || res.To() == nil {
		return
	}
	tag, _ := res.To().Params.Get("tag")
	g.mu.Lock()
	if g.kept == "" && !g.gone {
		g.pending = append(g.pending, res)
		g.mu.Unlock()
		return
	}
	fork := tag != "" && (g.gone || tag != g.kept)
	first := fork && !g.done[tag]
	if fork {
		g.done[tag] = true
	}
	g.mu.Unlock()
	if !fork {
		return // a retransmission of the kept answer
	}
	go g.end(res, first)
}

// end acknowledges a fork's 2xx and, the first time, hangs it up.
func (g *forkGuard) end(res *sipmsg.Response, bye bool) {
	log := g.s.log.With("call_id", res.CallID().Value(), "to_tag", toTag(res), "source", res.Source())
	if err := g.s.client.WriteRequest(dialogRequest(sipmsg.ACK, g.invite, res, 0)); err != nil {
		log.Warn("sip: ACK to a forked 2xx failed", "error", err)
	}
	if !bye {
		return
	}
	log.Info("sip: a 2xx to our INVITE the leg does not keep (a fork, or one that crossed our CANCEL) acknowledged and hung up")
	ctx, cancel := context.WithTimeout(context.Background(), 64*sipmsg.T1)
	defer cancel()
	if _, err := g.s.client.Do(ctx, dialogRequest(sipmsg.BYE, g.invite, res, 1)); err != nil {
		log.Warn("sip: BYE to a forked 2xx failed", "error", err)
	}
	if g.s.cfg.Observer != nil {
		g.s.cfg.Observer.SIPRequest("BYE_FORK")
	}
}

// dialogRequest builds an ACK or BYE within the dialog that res (a 2xx to
// invite) opened: to its Contact, through its route set (RFC 3261 12.1.2),
// with the INVITE's CSeq plus step.
func dialogRequest(method sipmsg.RequestMethod, invite *sipmsg.Request, res *sipmsg.Response, step uint32) *sipmsg.Request {
	target := invite.Recipient
	if c := res.Contact(); c != nil {
		target = *c.Address.Clone()
	}
	req := sipmsg.NewRequest(method, target)
	req.AppendHeader(sipmsg.HeaderClone(invite.From()))
	req.AppendHeader(sipmsg.HeaderClone(res.To()))
	req.AppendHeader(sipmsg.HeaderClone(invite.CallID()))
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: invite.CSeq().SeqNo + step, MethodName: method})
	mf := sipmsg.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	rrs := res.GetHeaders("Record-Route")
	for i := len(rrs) - 1; i >= 0; i-- {
		req.AppendHeader(sipmsg.NewHeader("Route", rrs[i].Value()))
	}
	req.SetTransport(invite.Transport())
	req.Laddr = invite.Laddr
	if len(rrs) == 0 {
		// Where the fork answered from: behind NAT its Contact may not be
		// reachable (nat.go), and a forking proxy's answers come from it.
		req.SetDestination(res.Source())
	}
	return req
}

func toTag(res *sipmsg.Response) string {
	if res.To() == nil {
		return ""
	}
	tag, _ := res.To().Params.Get("tag")
	return tag
}

// endLateAnswer: WaitAnswer failed (cancelled, rejected, timed out) and
// yet the INVITE's last response is a 2xx (a phone answered as the CANCEL
// went out): ACK and BYE it, and any later 2xx too.
func (l *OutboundLeg) endLateAnswer() {
	l.forks.keep("", true)
	res := l.d.InviteResponse
	if res == nil || !res.IsSuccess() {
		return
	}
	l.forks.mu.Lock()
	l.forks.done[toTag(res)] = true
	l.forks.mu.Unlock()
	go l.forks.end(res, true)
}
