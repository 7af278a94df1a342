package supervisor

import "errors"

// Errors returned by this package.
var (
	// ErrServe: the HTTP listener failed.
	ErrServe = errors.New("supervisor: serve")
)
