package jobs

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"
	vault "github.com/hashicorp/vault/api"
)

// Config says how to reach the cluster. FromEnv fills it from the standard
// variables; an empty Consul or Vault address turns that integration off.
type Config struct {
	NomadAddr   string
	NomadToken  string
	NomadRegion string
	ConsulAddr  string
	ConsulToken string
	VaultAddr   string
	VaultToken  string
	// VaultJWTMount is the Vault auth mount Nomad workload identities log
	// in with; each element gets a role there. Default "jwt-nomad".
	VaultJWTMount string
	// Concurrency bounds the requests in flight across regions (default 16).
	Concurrency int
	// RequestTimeout bounds each request to a region (default 30s), so a
	// region that does not answer fails on its own instead of holding up
	// the others.
	RequestTimeout time.Duration
}

// FromEnv reads NOMAD_ADDR, NOMAD_TOKEN, NOMAD_REGION, CONSUL_HTTP_ADDR,
// CONSUL_HTTP_TOKEN, VAULT_ADDR and VAULT_TOKEN.
func FromEnv() Config {
	return Config{
		NomadAddr:   os.Getenv("NOMAD_ADDR"),
		NomadToken:  os.Getenv("NOMAD_TOKEN"),
		NomadRegion: os.Getenv("NOMAD_REGION"),
		ConsulAddr:  os.Getenv("CONSUL_HTTP_ADDR"),
		ConsulToken: os.Getenv("CONSUL_HTTP_TOKEN"),
		VaultAddr:   os.Getenv("VAULT_ADDR"),
		VaultToken:  os.Getenv("VAULT_TOKEN"),
	}
}

// ErrNotConfigured is wrapped when a feature needs Consul or Vault and its
// address is not set.
var ErrNotConfigured = errors.New("not configured")

// Cluster holds the clients. Nomad is always present; Consul and Vault are
// nil when not configured. A Cluster is safe for concurrent use.
type Cluster struct {
	Nomad  *nomad.Client
	Consul *consul.Client
	Vault  *vault.Client
	cfg    Config
	log    *slog.Logger
}

// Connect builds the clients. It does not contact anything.
func Connect(cfg Config, log *slog.Logger) (*Cluster, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 16
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.VaultJWTMount == "" {
		cfg.VaultJWTMount = "jwt-nomad"
	}
	nc := nomad.DefaultConfig()
	if cfg.NomadAddr != "" {
		nc.Address = cfg.NomadAddr
	}
	nc.SecretID = cfg.NomadToken
	nc.Region = cfg.NomadRegion
	// No client-wide timeout: event streams stay open. Each request gets a
	// deadline from its context instead (RequestTimeout).
	nc.HttpClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	n, err := nomad.NewClient(nc)
	if err != nil {
		return nil, fmt.Errorf("nomad client for %s: %w", nc.Address, err)
	}
	c := &Cluster{Nomad: n, cfg: cfg, log: log.With("component", "jobs")}
	if cfg.ConsulAddr != "" {
		cc := consul.DefaultConfig()
		cc.Address = cfg.ConsulAddr
		cc.Token = cfg.ConsulToken
		if c.Consul, err = consul.NewClient(cc); err != nil {
			return nil, fmt.Errorf("consul client for %s: %w", cfg.ConsulAddr, err)
		}
	}
	if cfg.VaultAddr != "" {
		vc := vault.DefaultConfig()
		vc.Address = cfg.VaultAddr
		vc.Timeout = cfg.RequestTimeout
		if c.Vault, err = vault.NewClient(vc); err != nil {
			return nil, fmt.Errorf("vault client for %s: %w", cfg.VaultAddr, err)
		}
		c.Vault.SetToken(cfg.VaultToken)
	}
	return c, nil
}

// HasVault reports whether Vault is configured.
func (c *Cluster) HasVault() bool { return c.Vault != nil }

// HasConsul reports whether Consul is configured.
func (c *Cluster) HasConsul() bool { return c.Consul != nil }
