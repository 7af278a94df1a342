package records

import "errors"

// Errors returned by this package, wrapped with the record or file in question.
var (
	// ErrClosed: Write was called after Close.
	ErrClosed = errors.New("records: writer closed")
	// ErrNilRecord: Write was called with a nil record.
	ErrNilRecord = errors.New("records: nil record")
	// ErrEncode: a record could not be encoded as JSON.
	ErrEncode = errors.New("records: encode")
	// ErrFile: a records file could not be opened, written, synced or closed.
	ErrFile = errors.New("records: file")
	// ErrBadRecord: a line of a records file is not a valid record.
	ErrBadRecord = errors.New("records: bad record")
	// ErrBadTime: a time is not RFC 3339.
	ErrBadTime = errors.New("records: bad time")
)
