package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/backplane-dev/backplane/autodeploy"
	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/observe/logs"
	emetrics "github.com/backplane-dev/backplane/observe/metrics"
	"github.com/backplane-dev/backplane/store"
	"github.com/backplane-dev/backplane/templates"
	"github.com/backplane-dev/backplane/translator"
)

// Limits every request lives under.
const (
	MaxBody        = 4 << 20
	RequestTimeout = 30 * time.Second
	ClusterTimeout = 5 * time.Minute
)

// Cluster is what the server needs of the cluster side; *jobs.Cluster is
// one. It is an interface so that the server runs without a cluster.
type Cluster interface {
	Plan(ctx context.Context, b *translator.Bundle, opts jobs.PlanOptions) (*jobs.Plan, error)
	Apply(ctx context.Context, p *jobs.Plan, opts jobs.ApplyOptions) (*jobs.Result, error)
	StatusAll(ctx context.Context, targets []jobs.Target) []jobs.Status
	Watch(ctx context.Context, targets []jobs.Target, fn func(jobs.Status)) error
	Rollback(ctx context.Context, targets []jobs.Target, version *uint64) []jobs.OpResult
	Destroy(ctx context.Context, targets []jobs.Target, purge bool) []jobs.OpResult
	HasVault() bool
}

// Config wires a Server.
type Config struct {
	Store    store.Store
	Registry *templates.Registry
	// Cluster is nil when no cluster is configured; the cluster endpoints
	// then answer 503 no_cluster and everything else works.
	Cluster Cluster
	// LokiURL is passed to the translator (log shipping).
	LokiURL string
	// Loki is where the logs endpoints read logs from (usually the same
	// URL as LokiURL, with a tenant and basic auth); without a URL they
	// answer 503 no_loki.
	Loki    logs.Config
	Logger  *slog.Logger
	Version string
	// Metrics registers the server's metrics; a new registry when nil.
	Metrics *prometheus.Registry
	// DeletedRetention is how long a deleted project's history is kept
	// (the caller purges it; the API shows when); 0 means forever.
	DeletedRetention time.Duration
	// PublicURL is where browsers reach the server, for sign-in links.
	PublicURL string
	// TrustedProxies are the addresses whose X-Forwarded-For is believed
	// for the client's address (audit, rate limits); none by default.
	TrustedProxies []string
	// Logship is how the logship sidecar reaches clients; see dist.go for
	// the default under exec and raw_exec.
	Logship translator.LogshipOptions
	// DistBinary is the binary /dist offers; the running one when empty.
	DistBinary string
	// Alerts wires Alertmanager; alerts are off without its Client.
	Alerts AlertsConfig
	// ElementMetrics wires Prometheus and the sampling of Nomad.
	ElementMetrics MetricsConfig
	// Autodeploy wires deploys from git.
	Autodeploy AutodeployConfig
	// Builds turns on building elements from source once per commit.
	Builds BuildsConfig
}

// Server is the HTTP API and the editor.
type Server struct {
	store      store.Store
	reg        *templates.Registry
	cluster    Cluster
	lokiURL    string
	lokiTenant string
	log        *slog.Logger
	version    string
	hub        *Hub
	metrics    *metrics
	promReg    *prometheus.Registry
	engine     *gin.Engine
	checked    *problemCache
	// retention is Config.DeletedRetention.
	retention time.Duration
	publicURL string
	// builds builds elements from source once per commit; nil when off.
	builds *builder
	// trustedProxies is Config.TrustedProxies.
	trustedProxies []string
	limiter        *signInLimiter
	logship        translator.LogshipOptions
	dist           *dist
	alertOpts      translator.AlertingOptions
	// alerts is nil when no Alertmanager is configured.
	alerts *alerting
	// sampler samples Nomad's stats; nil without a cluster.
	sampler     *emetrics.Sampler
	stopSampler context.CancelFunc
	// prometheus reads metric ranges; nil when not configured.
	prometheus *emetrics.Prometheus
	rules      RulesApplier
	// sealer keeps webhook secrets; nil turns webhooks off.
	sealer *autodeploy.Sealer
	// worker runs queued deploys; nil without a cluster or a sealer.
	worker     *autodeploy.Worker
	stopWorker context.CancelFunc
	// pollSeen is each element's branch head the poller found outside
	// its paths, by project/element.
	pollMu   sync.Mutex
	pollSeen map[string]string

	// loki reads logs; nil when not configured (lokiErr says why).
	loki    *logs.Client
	lokiErr error
	// closing is closed by Close, which ends every log tail.
	closing   chan struct{}
	closeOnce sync.Once
}

// New builds the server. Close stops its background watchers.
func New(cfg Config) *Server {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "web")
	reg := cfg.Metrics
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	}
	s := &Server{
		store: cfg.Store, reg: cfg.Registry, cluster: cfg.Cluster, lokiURL: cfg.LokiURL, lokiTenant: cfg.Loki.Tenant,
		log: log, version: cfg.Version, promReg: reg, metrics: newMetrics(reg),
		checked: newProblemCache(256), retention: cfg.DeletedRetention,
		publicURL: strings.TrimRight(cfg.PublicURL, "/"), trustedProxies: cfg.TrustedProxies,
		limiter: newSignInLimiter(), logship: cfg.Logship, dist: newDist(cfg.DistBinary),
		alertOpts: cfg.Alerts.Options,
	}
	if cfg.LokiURL != "" && runtime.GOOS == "linux" {
		// Deploys will point the logship sidecar at /dist: pack the
		// binary now, off the first request that needs it (a validate
		// while typing would otherwise wait for it).
		go func() { _ = s.dist.prepare() }()
	}
	s.loki, s.lokiErr = logs.New(cfg.Loki)
	if s.lokiErr != nil && !errors.Is(s.lokiErr, logs.ErrNotConfigured) {
		log.Error("log search is off: the Loki settings are not usable", "error", s.lokiErr)
	}
	s.closing = make(chan struct{})
	s.hub = newHub(s)
	s.alerts = newAlerting(s, cfg.Alerts)
	s.prometheus, s.rules = cfg.ElementMetrics.Prometheus, cfg.ElementMetrics.Rules
	s.sampler = s.newSampler(cfg.ElementMetrics)
	s.sealer = cfg.Autodeploy.Sealer
	s.builds = s.newBuilder(cfg.Builds)
	if s.sealer != nil && s.cluster != nil {
		s.worker = &autodeploy.Worker{Store: s.store, Deploy: s.deployQueued, Owner: cfg.Autodeploy.Owner, Log: s.log,
			Settle: cfg.Autodeploy.Settle, Lease: cfg.Autodeploy.Lease, Slots: cfg.Autodeploy.Slots}
		wctx, cancel := context.WithCancel(context.Background())
		s.stopWorker = cancel
		go s.worker.Run(wctx)
	}
	s.engine = s.routes()
	return s
}

// Start does the work a server does once at start that needs the store and
// the cluster: alerting resumes following every deployed project. It
// returns when that is done; the server answers requests meanwhile.
func (s *Server) Start(ctx context.Context) {
	s.resumeAlerts(ctx)
}

// Handler is the server's http.Handler.
func (s *Server) Handler() http.Handler { return s.engine }

// Close stops the status watchers and ends every event stream and log tail.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.dist.close()
	})
	s.alerts.stop()
	if s.stopSampler != nil {
		s.stopSampler()
	}
	if s.stopWorker != nil {
		s.stopWorker()
	}
	s.hub.close()
}

// recover turns a panic in a handler into a logged stack and a 500; the
// process carries on.
func (s *Server) recover() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic in handler", "method", c.Request.Method, "path", c.Request.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				s.metrics.panics.Inc()
				if !c.Writer.Written() {
					c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"error": gin.H{"code": "internal", "message": "internal error", "path": ""}})
				} else {
					c.Abort()
				}
			}
		}()
		c.Next()
	}
}

// limitBody caps request bodies; reading past the cap fails the handler's
// decode, which answers 413. Artifact uploads have their own, larger cap.
func (s *Server) limitBody() gin.HandlerFunc {
	return func(c *gin.Context) {
		upload := c.Request.Method == http.MethodPut && strings.HasPrefix(c.Request.URL.Path, "/artifacts/")
		if c.Request.Body != nil && !upload {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, MaxBody)
		}
		c.Next()
	}
}

// timeout gives the request's context a deadline, which every store and
// cluster call honours.
func (s *Server) timeout(d time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), d)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

// observe counts requests and their latency by route.
func (s *Server) observe() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "other"
		}
		if strings.HasSuffix(route, "/events") || strings.HasSuffix(route, "/logs/tail") {
			return // streams are counted by the subscriber gauge
		}
		code := strconv.Itoa(c.Writer.Status())
		s.metrics.requests.WithLabelValues(c.Request.Method, route, code).Inc()
		s.metrics.latency.WithLabelValues(c.Request.Method, route).Observe(time.Since(start).Seconds())
	}
}

type metrics struct {
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	subscribers prometheus.Gauge
	deploys     *prometheus.CounterVec
	panics      prometheus.Counter
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backplane_http_requests_total", Help: "HTTP requests by method, route and status code.",
		}, []string{"method", "route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "backplane_http_request_duration_seconds", Help: "HTTP request latency by method and route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "route"}),
		subscribers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "backplane_event_subscribers", Help: "Open event streams.",
		}),
		deploys: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backplane_deployments_total", Help: "Deploys, rollbacks and destroys by action and result.",
		}, []string{"action", "status"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "backplane_handler_panics_total", Help: "Panics recovered in HTTP handlers.",
		}),
	}
	reg.MustRegister(m.requests, m.latency, m.subscribers, m.deploys, m.panics)
	return m
}

func (s *Server) healthz(c *gin.Context) error {
	cluster := "not configured"
	if s.cluster != nil {
		cluster = "connected"
	}
	kind := "unknown"
	if d, ok := s.store.(interface{ Describe() string }); ok {
		kind, _, _ = strings.Cut(d.Describe(), " ") // the kind, not where it lives
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok", "store": kind, "cluster": cluster, "events": s.hub.relay.State(), "version": s.version})
	return nil
}

func (s *Server) kinds(c *gin.Context) error {
	c.JSON(http.StatusOK, gin.H{"kinds": s.reg.Infos()})
	return nil
}
