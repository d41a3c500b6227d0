package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
)

// Notifier on PostgreSQL: NOTIFY through the pool, LISTEN on a connection
// of its own.

// Listen's reconnect backoff, and how long its connection may sit idle
// before it is pinged, so that a dead connection (no RST, say) is noticed
// in about a minute rather than at TCP keepalive's pace.
const (
	listenMinBackoff = 100 * time.Millisecond
	listenMaxBackoff = 10 * time.Second
	listenIdlePing   = 30 * time.Second
	listenPingWait   = 10 * time.Second
)

// maxChannelName is PostgreSQL's identifier limit (NAMEDATALEN - 1).
const maxChannelName = 63

// channelName scopes a channel to the store's schema:
// "bp:<channel>:<schema>", the schema hashed when the name would be too
// long for an identifier.
func (s *pgStore) channelName(channel string) (string, error) {
	if channel == "" {
		return "", errors.New("empty channel name")
	}
	name := "bp:" + channel + ":" + s.schema
	if len(name) > maxChannelName {
		sum := sha256.Sum256([]byte(s.schema))
		name = "bp:" + channel + ":" + hex.EncodeToString(sum[:8])
	}
	if len(name) > maxChannelName {
		return "", fmt.Errorf("channel name %q is too long", channel)
	}
	return name, nil
}

// Notify sends payload on channel with pg_notify.
func (s *pgStore) Notify(ctx context.Context, channel, payload string) (err error) {
	defer annotate(&err, "notify %s", channel)
	if len(payload) > MaxNotifyPayload {
		return fmt.Errorf("payload of %d bytes is over the %d-byte limit", len(payload), MaxNotifyPayload)
	}
	name, err := s.channelName(channel)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, name, payload)
	return err
}

// Listen runs LISTEN on a dedicated connection and hands each notification
// to fn, reconnecting with jittered exponential backoff (listenMinBackoff
// to listenMaxBackoff) whenever the connection fails.
func (s *pgStore) Listen(ctx context.Context, channel string, fn func(Notification)) (err error) {
	name, err := s.channelName(channel)
	if err != nil {
		return fmt.Errorf("store: listen %s: %w", channel, err)
	}
	backoff := listenMinBackoff
	listened, down := false, false
	for {
		err := s.listenOnce(ctx, name, func() {
			fn(Notification{Listening: true, Resumed: listened})
			listened, down = true, false
			backoff = listenMinBackoff
		}, fn)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !down {
			fn(Notification{Lost: true, Err: fmt.Errorf("store: listen %s: %w", channel, err)})
			down = true
		}
		// Full jitter in [backoff/2, backoff], so replicas that lost the
		// database together do not all come back at once.
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		backoff = min(2*backoff, listenMaxBackoff)
	}
}

// listenOnce connects, listens, calls listening, and passes notifications
// to fn until the connection fails or ctx ends.
func (s *pgStore) listenOnce(ctx context.Context, name string, listening func(), fn func(Notification)) error {
	conn, err := pgx.ConnectConfig(ctx, s.connCfg.Copy())
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{name}.Sanitize()); err != nil {
		return err
	}
	listening()
	for {
		wctx, cancel := context.WithTimeout(ctx, listenIdlePing)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			fn(Notification{Payload: n.Payload})
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			// Idle: check that the connection still answers. A timed-out
			// wait leaves a pgx connection usable.
			pctx, cancel := context.WithTimeout(ctx, listenPingWait)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return fmt.Errorf("idle listening connection does not answer: %w", err)
			}
		default:
			return err
		}
	}
}
