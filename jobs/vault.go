package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"

	vault "github.com/hashicorp/vault/api"

	"github.com/backplane-dev/backplane/templates"
	"github.com/backplane-dev/backplane/translator"
)

// kvMount is the KV v2 mount secrets live under.
const kvMount = "secret"

// SecretInfo is a secret's name and the version of the element's secret
// that last set it. Values are never returned.
type SecretInfo struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
}

func (c *Cluster) needVault() error {
	if c.Vault == nil {
		return fmt.Errorf("vault: %w: set VAULT_ADDR and VAULT_TOKEN", ErrNotConfigured)
	}
	return nil
}

// SetSecret writes one secret of an element to Vault KV v2 at
// secret/backplane/<project>/<element>, keeping the element's other
// secrets. The value never appears in an error.
func (c *Cluster) SetSecret(ctx context.Context, project, element, name string, value []byte) (int, error) {
	if err := c.needVault(); err != nil {
		return 0, err
	}
	kv := c.Vault.KVv2(kvMount)
	path := templates.SecretsPath(project, element)
	data := map[string]any{name: string(value)}
	s, err := kv.Patch(ctx, path, data)
	if err != nil && (errors.Is(err, vault.ErrSecretNotFound) || strings.Contains(err.Error(), "404")) {
		s, err = kv.Put(ctx, path, data)
	}
	if err != nil {
		return 0, fmt.Errorf("set secret %s of %s in Vault at %s/%s: %s", name, element, kvMount, path, redact(err, string(value)))
	}
	if s == nil || s.VersionMetadata == nil {
		return 0, nil
	}
	return s.VersionMetadata.Version, nil
}

// Secrets lists the names of an element's secrets and the version that
// holds them.
func (c *Cluster) Secrets(ctx context.Context, project, element string) ([]SecretInfo, error) {
	if err := c.needVault(); err != nil {
		return nil, err
	}
	s, err := c.Vault.KVv2(kvMount).Get(ctx, templates.SecretsPath(project, element))
	if err != nil {
		if errors.Is(err, vault.ErrSecretNotFound) {
			return nil, nil
		}
		return nil, fmt.Errorf("read secrets of %s: %w", element, err)
	}
	version := 0
	if s.VersionMetadata != nil {
		version = s.VersionMetadata.Version
	}
	var out []SecretInfo
	for name := range s.Data {
		out = append(out, SecretInfo{Name: name, Version: version})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// secretNames is the set of secret names an element has in Vault.
func (c *Cluster) secretNames(ctx context.Context, project, element string) (map[string]bool, error) {
	infos, err := c.Secrets(ctx, project, element)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, i := range infos {
		have[i.Name] = true
	}
	return have, nil
}

// VaultRole is the JWT auth role a job's Nomad workload identity logs in
// with: bound to the job in its namespace, granted the job's own policy
// (named like the job).
func VaultRole(jobID, namespace string) map[string]any {
	return map[string]any{
		"role_type":               "jwt",
		"bound_audiences":         []string{"vault.io"},
		"user_claim":              "/nomad_job_id",
		"user_claim_json_pointer": true,
		"bound_claims":            map[string]any{"nomad_namespace": namespace, "nomad_job_id": jobID},
		"claim_mappings":          map[string]any{"nomad_namespace": "nomad_namespace", "nomad_job_id": "nomad_job_id", "nomad_task": "nomad_task"},
		"token_type":              "service",
		"token_policies":          []string{jobID},
		"token_period":            "30m",
	}
}

// applyVault writes each element's policy and its workload-identity role,
// and generates datastore credentials that do not exist yet.
//
// With only set, just the policies of those elements are written (and the
// credentials of datastores among them or connected to them).
func (c *Cluster) applyVault(ctx context.Context, b *translator.Bundle, namespace string, only map[string]bool) error {
	names := make([]string, 0, len(b.VaultPolicies))
	for n := range b.VaultPolicies {
		if len(only) == 0 || only[strings.TrimPrefix(n, b.Project+"-")] {
			names = append(names, n)
		}
	}
	if len(names) == 0 && (len(b.Credentials) == 0 || len(only) > 0) {
		return nil
	}
	if err := c.needVault(); err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := c.Vault.Sys().PutPolicyWithContext(ctx, name, b.VaultPolicies[name]); err != nil {
			return fmt.Errorf("write Vault policy %s: %w", name, err)
		}
		path := "auth/" + c.cfg.VaultJWTMount + "/role/" + name
		if _, err := c.Vault.Logical().WriteWithContext(ctx, path, VaultRole(name, namespace)); err != nil {
			return fmt.Errorf("write Vault role %s (is the %s/ JWT auth for Nomad workload identities enabled?): %w", path, c.cfg.VaultJWTMount, err)
		}
	}
	for _, cr := range b.Credentials {
		kv := c.Vault.KVv2(kvMount)
		if _, err := kv.Get(ctx, cr.Path); err == nil {
			continue // generated before; keep it, the datastore was initialised with it
		} else if !errors.Is(err, vault.ErrSecretNotFound) {
			return fmt.Errorf("read credentials at %s: %w", cr.Path, err)
		}
		password, err := randomPassword()
		if err != nil {
			return err
		}
		if _, err := kv.Put(ctx, cr.Path, map[string]any{"password": password}); err != nil {
			return fmt.Errorf("write credentials at %s: %s", cr.Path, redact(err, password))
		}
	}
	return nil
}

// randomPassword is 32 hex characters: URL-safe, so it fits a connection URL
// without escaping.
func randomPassword() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate password: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// redact removes a secret value from an error message.
func redact(err error, secret string) string {
	msg := err.Error()
	if secret != "" {
		msg = strings.ReplaceAll(msg, secret, "[redacted]")
	}
	return msg
}

// ProjectSecretValues reads the named project secrets (ProjectSecrets)
// for the alerts layer, which writes them where Alertmanager reads them.
// A name that is not set is an error naming it and the command that sets
// it; values never appear in an error.
func (c *Cluster) ProjectSecretValues(ctx context.Context, project string, names []string) (map[string][]byte, error) {
	if len(names) == 0 {
		return map[string][]byte{}, nil
	}
	if err := c.needVault(); err != nil {
		return nil, fmt.Errorf("receivers read project secrets %s: %w", strings.Join(names, ", "), err)
	}
	s, err := c.Vault.KVv2(kvMount).Get(ctx, templates.SecretsPath(project, ProjectSecrets))
	if err != nil && !errors.Is(err, vault.ErrSecretNotFound) {
		return nil, fmt.Errorf("read project secrets of %s: %w", project, err)
	}
	out := map[string][]byte{}
	var missing []string
	for _, n := range names {
		var v any
		if s != nil {
			v = s.Data[n]
		}
		str, ok := v.(string)
		if !ok {
			missing = append(missing, n)
			continue
		}
		out[n] = []byte(str)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("project secret %s is not set: run `backplane secrets set -f backplane.yaml --project %s` (value on stdin)",
			strings.Join(missing, ", "), missing[0])
	}
	return out, nil
}
