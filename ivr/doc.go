// Package ivr owns the IVR: it runs one caller through an IVR tree of the
// config (menus, digit collection, variables and tags, business hours with
// the holiday calendar, caller lists, prompt languages) and decides where
// the walk ends: a skill queue, a transfer or a hang-up. It also answers
// whether a set of business hours is open at a time (parallel-answering
// lines use it for the department's working hours).
//
// ivr is pure decision logic: it opens no socket, plays no audio and starts
// no goroutine or timer. The call goroutine feeds a Session events (digits,
// prompts finished, timer expired) and carries out the Actions it returns.
// ivr imports only config (whose validated trees it compiles); it must not
// import sip, media, call, queue or acd.
package ivr
