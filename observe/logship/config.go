package logship

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Defaults for Config.
const (
	// DefaultMaxLineBytes stays under Loki's default max_line_size (256KB,
	// that is 256,000 bytes), so that no line is refused for its length.
	DefaultMaxLineBytes  = 250_000
	DefaultBatchBytes    = 1 << 20
	DefaultBatchWait     = 500 * time.Millisecond
	DefaultBufferBytes   = 2 << 20
	DefaultPollInterval  = 250 * time.Millisecond
	DefaultMinBackoff    = 250 * time.Millisecond
	DefaultMaxBackoff    = 10 * time.Second
	DefaultPushTimeout   = 10 * time.Second
	DefaultFlushTimeout  = 4 * time.Second // Nomad's default kill_timeout is 5s
	DefaultSelf          = "logship"
	DefaultStateFileName = "logship.state"
)

// Encodings of the push body.
const (
	EncodingProtobuf = "protobuf" // snappy-compressed protobuf, what Loki prefers
	EncodingJSON     = "json"
)

// Config says where logs come from, where they go and how.
type Config struct {
	// LokiURL is Loki's base URL (http://loki:3100); the shipper pushes to
	// LokiURL + /loki/api/v1/push. A URL whose path already ends in
	// /loki/api/v1/push is used as it is.
	LokiURL string
	// Tenant, when set, is sent as X-Scope-OrgID.
	Tenant string
	// AllocDir is the allocation directory; logs are read from AllocDir/logs.
	AllocDir string
	// Self is this sidecar's own task name, whose logs are not shipped.
	Self string
	// Labels are added to every stream; the shipper adds task and stream.
	Labels map[string]string
	// StateFile keeps the offsets. Default AllocDir/data/logship.state.
	StateFile string

	MaxLineBytes int           // longer lines are split; at least 64
	BatchBytes   int           // a batch is sent when it holds this many bytes of lines
	BatchWait    time.Duration // ... or when its first line is this old
	BufferBytes  int           // lines read but not yet acknowledged, at most
	PollInterval time.Duration // how often idle files are looked at
	MinBackoff   time.Duration // first retry delay; doubles up to MaxBackoff
	MaxBackoff   time.Duration
	PushTimeout  time.Duration // one push request
	FlushTimeout time.Duration // how long the last flush may take once ctx ends
	Encoding     string        // EncodingProtobuf (default) or EncodingJSON

	// HTTPClient sends the pushes; default a client of its own.
	HTTPClient *http.Client
	// Logger gets the shipper's own messages; default slog to io.Discard.
	Logger *slog.Logger
	// Now is the clock for timestamps; default time.Now.
	Now func() time.Time
}

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// reserved labels are set by the shipper itself.
var reservedLabels = []string{"task", "stream"}

// fill sets defaults and checks the config.
func (c *Config) fill() error {
	var errs []error
	if c.LokiURL == "" {
		errs = append(errs, errors.New("loki url: required"))
	} else if u, err := url.Parse(c.LokiURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("loki url %q: must be an http or https URL", c.LokiURL))
	}
	if c.AllocDir == "" {
		errs = append(errs, errors.New("alloc dir: required (Nomad sets NOMAD_ALLOC_DIR)"))
	}
	for k := range c.Labels {
		if !labelName.MatchString(k) {
			errs = append(errs, fmt.Errorf("label %q: a name is letters, digits and '_', not starting with a digit", k))
		}
		for _, r := range reservedLabels {
			if k == r {
				errs = append(errs, fmt.Errorf("label %q: set by the shipper for each file", k))
			}
		}
	}
	switch c.Encoding {
	case "":
		c.Encoding = EncodingProtobuf
	case EncodingProtobuf, EncodingJSON:
	default:
		errs = append(errs, fmt.Errorf("encoding %q: must be %s or %s", c.Encoding, EncodingProtobuf, EncodingJSON))
	}
	if c.MaxLineBytes != 0 && c.MaxLineBytes < minMaxLineBytes {
		errs = append(errs, fmt.Errorf("max line bytes %d: must be at least %d", c.MaxLineBytes, minMaxLineBytes))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if c.Self == "" {
		c.Self = DefaultSelf
	}
	if c.StateFile == "" {
		c.StateFile = filepath.Join(c.AllocDir, "data", DefaultStateFileName)
	}
	setDefault(&c.MaxLineBytes, DefaultMaxLineBytes)
	setDefault(&c.BatchBytes, DefaultBatchBytes)
	setDefault(&c.BatchWait, DefaultBatchWait)
	setDefault(&c.BufferBytes, DefaultBufferBytes)
	setDefault(&c.PollInterval, DefaultPollInterval)
	setDefault(&c.MinBackoff, DefaultMinBackoff)
	setDefault(&c.MaxBackoff, DefaultMaxBackoff)
	setDefault(&c.PushTimeout, DefaultPushTimeout)
	setDefault(&c.FlushTimeout, DefaultFlushTimeout)
	if c.BufferBytes < c.BatchBytes {
		c.BufferBytes = c.BatchBytes
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

func setDefault[T int | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// pushURL is where batches go.
func (c *Config) pushURL() string {
	u := strings.TrimRight(c.LokiURL, "/")
	if strings.HasSuffix(u, pushPath) {
		return u
	}
	return u + pushPath
}

const pushPath = "/loki/api/v1/push"

// ParseLabels turns "name=value" pairs (the --label flags) into a map.
func ParseLabels(pairs []string) (map[string]string, error) {
	out := make(map[string]string, len(pairs))
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("label %q: want name=value", p)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("label %q: given twice", k)
		}
		out[k] = v
	}
	return out, nil
}
