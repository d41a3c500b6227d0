package store

import "context"

// MaxNotifyPayload is the largest payload Notify sends, in bytes. It is
// PostgreSQL's NOTIFY limit (shorter than 8000 bytes in the default
// build): send IDs and references, and let the receiver re-read the rest.
const MaxNotifyPayload = 7999

// Notifier carries small messages between the processes that share one
// store: several `serve` replicas on one PostgreSQL. The PostgreSQL store
// implements it with LISTEN/NOTIFY; the SQLite store does not, since one
// process is all a SQLite file serves (callers check with a type
// assertion and, without it, keep events within the process).
//
// Delivery is at most once and only while listening: a notification sent
// while a listener is reconnecting is lost to it, and Listen says so (a
// Listening notification with Resumed set) so the receiver can re-read
// what it shows. A notification reaches every listener on the channel,
// the sender's own process included; a sender that already handled its
// own message locally marks it (an origin in the payload) and skips it.
// Channels are scoped to the store's schema, so installations that share
// a database in different schemas do not hear each other.
type Notifier interface {
	// Notify sends payload, at most MaxNotifyPayload bytes, to every
	// current listener on channel once the call returns. It does not wait
	// for them.
	Notify(ctx context.Context, channel, payload string) error
	// Listen receives channel's notifications until ctx ends, and then
	// returns ctx's error. It calls fn for each, in the order sent, from
	// one goroutine; fn should return quickly, as notifications queue
	// behind it. Listen holds a database connection of its own; when the
	// connection fails it reports it (Lost), reconnects with backoff, and
	// reports Listening again.
	Listen(ctx context.Context, channel string, fn func(Notification)) error
}

// Notification is what Listen hands its callback: a message (Payload), or
// a change of the listening connection (Listening or Lost, no Payload).
type Notification struct {
	// Payload is what Notify sent.
	Payload string
	// Listening is set when the connection has started listening: the
	// first time, and after each reconnect, when Resumed is also set.
	Listening bool
	// Resumed is set with Listening after a reconnect: anything notified
	// while the connection was down was missed.
	Resumed bool
	// Lost is set, with Err, when the connection failed (or could not be
	// made); Listen is retrying with backoff.
	Lost bool
	Err  error
}
