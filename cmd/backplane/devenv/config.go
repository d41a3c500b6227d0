package devenv

import (
	"context"
	"fmt"
	"strings"

	nomad "github.com/hashicorp/nomad/api"
	vault "github.com/hashicorp/vault/api"
)

// JWTMount is where Vault's JWT auth for Nomad workload identities is
// mounted; Backplane writes each element's role there.
const JWTMount = "jwt-nomad"

// nomadConfig is a dev agent's config: loopback only, raw_exec on, the
// cloud fingerprinters denied (they hang on machines without a metadata
// service), allocation metrics for Prometheus, and Vault and Consul at
// their dev servers' addresses (placeholders when absent, so that jobs
// with vault blocks still validate and nothing reaches a Consul the
// machine may run for something else).
func nomadConfig(data string, ports []int, vaultURL, consulURL string) string {
	if vaultURL == "" {
		vaultURL = "http://127.0.0.1:1"
	}
	consul := fmt.Sprintf("consul {\n  address = %q\n}\n", strings.TrimPrefix(consulURL, "http://"))
	if consulURL == "" {
		consul = "consul {\n  address          = \"127.0.0.1:1\"\n  auto_advertise   = false\n  server_auto_join = false\n  client_auto_join = false\n}\n"
	}
	return fmt.Sprintf(`name       = "backplane-dev"
data_dir   = %q
bind_addr  = "127.0.0.1"
log_level  = "INFO"
ports {
  http = %d
  rpc  = %d
  serf = %d
}
advertise {
  http = "127.0.0.1"
  rpc  = "127.0.0.1"
  serf = "127.0.0.1"
}
server {
  enabled          = true
  bootstrap_expect = 1
}
client {
  enabled = true
  options = {
    "driver.raw_exec.enable" = "1"
    "fingerprint.denylist"   = "env_aws,env_gce,env_azure,env_digitalocean"
  }
}
plugin "raw_exec" {
  config {
    enabled = true
  }
}
telemetry {
  publish_allocation_metrics = true
  publish_node_metrics       = true
  prometheus_metrics         = true
  collection_interval        = "5s"
}
vault {
  enabled = true
  address = %q
  jwt_auth_backend_path = %q
  default_identity {
    aud = ["vault.io"]
    ttl = "1h"
  }
}
%s`, data, ports[0], ports[1], ports[2], vaultURL, JWTMount, consul)
}

// nomadReady passes once there is a leader and a ready client node whose
// raw_exec driver is healthy.
func nomadReady(ctx context.Context, url string) error {
	cfg := nomad.DefaultConfig()
	cfg.Address = url
	cfg.SecretID = ""
	cfg.Region = ""
	cfg.Namespace = ""
	c, err := nomad.NewClient(cfg)
	if err != nil {
		return err
	}
	q := (&nomad.QueryOptions{}).WithContext(ctx)
	leader, err := c.Status().Leader()
	if err != nil || leader == "" {
		return fmt.Errorf("no leader yet: %v", err)
	}
	nodes, _, err := c.Nodes().List(q)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if d := n.Drivers["raw_exec"]; n.Status == "ready" && d != nil && d.Healthy {
			return nil
		}
	}
	return fmt.Errorf("no ready client node with raw_exec yet")
}

// setupVault makes sure KV v2 is at secret/ and, with Nomad running,
// enables the JWT auth Nomad's workload identities log in with, trusting
// the agent's keys.
func setupVault(ctx context.Context, url, token, nomadURL string) error {
	cfg := vault.DefaultConfig()
	cfg.Address = url
	c, err := vault.NewClient(cfg)
	if err != nil {
		return fmt.Errorf("vault client: %w", err)
	}
	c.SetToken(token)
	c.SetNamespace("")
	mounts, err := c.Sys().ListMountsWithContext(ctx)
	if err != nil {
		return fmt.Errorf("list Vault mounts: %w", err)
	}
	if m, ok := mounts["secret/"]; !ok || m.Options["version"] != "2" {
		if ok {
			return fmt.Errorf("secret/ is mounted as %s version %q, not KV version 2", m.Type, m.Options["version"])
		}
		if err := c.Sys().MountWithContext(ctx, "secret", &vault.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
			return fmt.Errorf("mount KV v2 at secret/: %w", err)
		}
	}
	if nomadURL == "" {
		return nil
	}
	if err := c.Sys().EnableAuthWithOptionsWithContext(ctx, JWTMount, &vault.EnableAuthOptions{Type: "jwt"}); err != nil {
		return fmt.Errorf("enable JWT auth at %s/: %w", JWTMount, err)
	}
	_, err = c.Logical().WriteWithContext(ctx, "auth/"+JWTMount+"/config", map[string]any{
		"jwks_url":           nomadURL + "/.well-known/jwks.json",
		"jwt_supported_algs": []string{"RS256", "EdDSA"},
		"default_role":       "nomad-workloads",
	})
	if err != nil {
		return fmt.Errorf("configure JWT auth at %s/: %w", JWTMount, err)
	}
	return nil
}

// lokiConfig runs Loki as one process with its data in dir, without
// tenants, on loopback.
func lokiConfig(dir string, ports []int) string {
	return fmt.Sprintf(`auth_enabled: false
server:
  http_listen_address: 127.0.0.1
  http_listen_port: %d
  grpc_listen_address: 127.0.0.1
  grpc_listen_port: %d
  log_level: warn
common:
  instance_addr: 127.0.0.1
  path_prefix: %[3]s/data
  storage:
    filesystem:
      chunks_directory: %[3]s/data/chunks
      rules_directory: %[3]s/data/rules
  replication_factor: 1
  ring:
    kvstore:
      store: inmemory
schema_config:
  configs:
    - from: 2024-01-01
      store: tsdb
      object_store: filesystem
      schema: v13
      index: { prefix: index_, period: 24h }
analytics:
  reporting_enabled: false
`, ports[0], ports[1], dir)
}

// prometheusConfig scrapes the Nomad agent's allocation metrics (with
// honor_labels, so `job` stays the Nomad job ID), loads the rule files
// Backplane writes and sends alerts to Alertmanager.
func prometheusConfig(rulesDir, nomadURL, amURL string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: 5s\n  evaluation_interval: 5s\nrule_files:\n  - %q\n", rulesDir+"/*.yml")
	if amURL != "" {
		fmt.Fprintf(&b, "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [%q]\n", strings.TrimPrefix(amURL, "http://"))
	}
	if nomadURL != "" {
		fmt.Fprintf(&b, `scrape_configs:
  - job_name: nomad
    metrics_path: /v1/metrics
    params: { format: [prometheus] }
    honor_labels: true
    static_configs:
      - targets: [%q]
`, strings.TrimPrefix(nomadURL, "http://"))
	}
	return b.String()
}
