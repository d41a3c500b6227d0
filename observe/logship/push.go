package logship

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki-client-go/pkg/logproto"
)

// pusher sends one batch to Loki's push API and says whether Loki took it.
type pusher struct {
	url      string
	tenant   string
	encoding string
	client   *http.Client
	timeout  time.Duration
	raw      []byte // reused between encodes; never handed to the transport
}

// pushError is a push that failed. Retry says whether sending the same
// batch again may succeed (network errors, 429 and 5xx).
type pushError struct {
	Status int // 0 when no answer came
	Retry  bool
	Err    error
}

func (e *pushError) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("push to loki: %v", e.Err)
	}
	return fmt.Sprintf("push to loki: status %d: %v", e.Status, e.Err)
}

func (e *pushError) Unwrap() error { return e.Err }

// push sends req; nil means Loki acknowledged every entry in it.
func (p *pusher) push(ctx context.Context, req *logproto.PushRequest) error {
	body, contentType, err := p.encode(req)
	if err != nil {
		return &pushError{Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return &pushError{Err: err}
	}
	hreq.Header.Set("Content-Type", contentType)
	hreq.Header.Set("User-Agent", "backplane-logship")
	if p.tenant != "" {
		hreq.Header.Set("X-Scope-OrgID", p.tenant)
	}
	resp, err := p.client.Do(hreq)
	if err != nil {
		return &pushError{Retry: true, Err: err}
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	text := strings.TrimSpace(string(msg))
	if text == "" {
		text = http.StatusText(resp.StatusCode)
	}
	retry := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode/100 == 5
	return &pushError{Status: resp.StatusCode, Retry: retry, Err: errors.New(text)}
}

// encode renders the body: snappy-compressed protobuf, or JSON.
func (p *pusher) encode(req *logproto.PushRequest) ([]byte, string, error) {
	if p.encoding == EncodingJSON {
		b, err := req.MarshalJSON()
		if err != nil {
			return nil, "", fmt.Errorf("encode json: %w", err)
		}
		return b, "application/json", nil
	}
	size := req.Size()
	if cap(p.raw) < size {
		p.raw = make([]byte, size)
	}
	n, err := req.MarshalTo(p.raw[:size])
	if err != nil {
		return nil, "", fmt.Errorf("encode protobuf: %w", err)
	}
	// A fresh buffer each time: the transport may still read a failed
	// request's body after Do returns.
	return snappy.Encode(nil, p.raw[:n]), "application/x-protobuf", nil
}
