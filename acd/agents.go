package acd

import (
	"context"
	"fmt"
	"time"

	"github.com/hotline-cc/hotline/store"
)

// Command applies an agent's state request (feature code or HTTP API) and
// returns the seat's new status and the decisions that follow (a seat that
// became ready may be offered a waiting call at once). A seat ringing or on
// a call keeps it; the request applies when the call and wrap-up are over.
func (d *Dispatcher) Command(ctx context.Context, ext string, c Command) (store.Status, []Decision, error) {
	d.mu.Lock()
	now := d.now()
	s, err := d.swap(ctx, ext, func(s store.Status) (store.Status, bool, error) {
		next, err := applyCommand(s, c, now)
		return next, err == nil && next != s, err
	})
	d.mu.Unlock()
	if err != nil {
		return s, nil, fmt.Errorf("agent %s %s: %w", ext, c.Kind, err)
	}
	out, err := d.dispatch(ctx)
	return s, out, err
}

// Register records where ext's phone is (a REGISTER with expiry, or a
// refresh); with AutoLogin a logged-out seat is logged in. Called by the
// registrar's owner on every successful REGISTER.
func (d *Dispatcher) Register(ctx context.Context, ext, contact string, expires time.Time) ([]Decision, error) {
	d.mu.Lock()
	err := d.registerLocked(ctx, ext, contact, expires)
	d.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return d.dispatch(ctx)
}

func (d *Dispatcher) registerLocked(ctx context.Context, ext, contact string, expires time.Time) error {
	if err := d.st.PutRegistration(ctx, store.Registration{Ext: ext, Contact: contact, Expires: expires}); err != nil {
		return fmt.Errorf("register %s: %w", ext, err)
	}
	now := d.now()
	if d.cfg.AutoLogin {
		_, err := d.swap(ctx, ext, func(s store.Status) (store.Status, bool, error) {
			next, err := applyCommand(s, Command{Kind: CmdLogin}, now)
			return next, state(s) == LoggedOut, err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Unregister forgets ext's phone (REGISTER with Expires 0, or the binding
// expired); an idle seat is logged out.
func (d *Dispatcher) Unregister(ctx context.Context, ext string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.st.DeleteRegistration(ctx, ext); err != nil {
		return fmt.Errorf("unregister %s: %w", ext, err)
	}
	now := d.now()
	_, err := d.swap(ctx, ext, func(s store.Status) (store.Status, bool, error) {
		next, changed := expire(s, store.Registration{}, now)
		return next, changed, nil
	})
	return err
}
