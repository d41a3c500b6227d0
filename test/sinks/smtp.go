package sinks

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// SMTP is a mail server on 127.0.0.1:port that accepts every message,
// with no TLS and no authentication, and records it.
type SMTP struct {
	// Addr is host:port, what Alertmanager's smtp_smarthost takes.
	Addr string
	srv  *smtp.Server
	rec  *recorder[Mail]
}

// Mail is one message the SMTP sink received.
type Mail struct {
	From    string
	To      []string
	Subject string
	Header  mail.Header
	// Text and HTML are the decoded text/plain and text/html parts.
	Text, HTML string
	// Body is Text, or HTML when the message has no text part.
	Body     string
	Raw      []byte
	Received time.Time
}

// NewSMTP starts an SMTP sink, stopped in t.Cleanup.
func NewSMTP(t testing.TB) *SMTP {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtp sink: %v", err)
	}
	s := &SMTP{Addr: l.Addr().String(), rec: newRecorder[Mail]()}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{sink: s}, nil }))
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout = 30 * time.Second
	s.srv.WriteTimeout = 30 * time.Second
	s.srv.MaxMessageBytes = 8 << 20
	lg := &testLogger{t: t}
	s.srv.ErrorLog = lg
	done := make(chan struct{})
	go func() { defer close(done); _ = s.srv.Serve(l) }()
	t.Cleanup(func() {
		lg.stop()
		_ = s.srv.Close()
		<-done
	})
	return s
}

// testLogger sends the server's errors to the test log until the sink
// stops (a connection closing after the test ended must not log).
type testLogger struct {
	t       testing.TB
	mu      sync.Mutex
	stopped bool
}

func (l *testLogger) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
}

func (l *testLogger) Printf(format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped {
		l.t.Logf("smtp sink: "+format, v...)
	}
}

func (l *testLogger) Println(v ...any) { l.Printf("%s", fmt.Sprintln(v...)) }

type session struct {
	sink *SMTP
	from string
	to   []string
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := parseMail(raw)
	m.From, m.To, m.Received = s.from, append([]string(nil), s.to...), time.Now()
	s.sink.rec.add(m)
	return nil
}

// parseMail decodes the subject and the text parts; a message it cannot
// parse keeps its raw bytes as Body.
func parseMail(raw []byte) Mail {
	m := Mail{Raw: raw}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		m.Body = string(raw)
		return m
	}
	m.Header = msg.Header
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		m.Subject = msg.Header.Get("Subject")
	}
	m.readPart(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	m.Body = m.Text
	if m.Body == "" {
		m.Body = m.HTML
	}
	return m
}

func (m *Mail) readPart(contentType, encoding string, body io.Reader) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart() // undoes quoted-printable itself
			if err != nil {
				return
			}
			m.readPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p)
		}
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, _ := io.ReadAll(body)
	switch mt {
	case "text/html":
		m.HTML += string(b)
	default:
		m.Text += string(b)
	}
}

// Mails is every message received so far, in order.
func (s *SMTP) Mails() []Mail { return s.rec.all() }

// Wait returns the first message match accepts, waiting up to timeout;
// the test fails, listing what arrived, when none does.
func (s *SMTP) Wait(t testing.TB, timeout time.Duration, match func(Mail) bool) Mail {
	t.Helper()
	return s.rec.wait(t, timeout, "mail", match, func(m Mail) string {
		return fmt.Sprintf("from %s to %v: %s", m.From, m.To, m.Subject)
	})
}
