package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	consul "github.com/hashicorp/consul/api"
	"github.com/spf13/cobra"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/schema"
	"github.com/backplane-dev/backplane/translator"
)

// ejectJWTMount is the Vault auth mount the ejected roles are written to,
// the one Backplane's deploys use.
const ejectJWTMount = "jwt-nomad"

func (a *app) ejectCmd() *cobra.Command {
	var file, out, amSecrets string
	var force, credentials bool
	cmd := &cobra.Command{
		Use:   "eject",
		Short: "Write plain Nomad, Vault, Consul, Alertmanager and Prometheus files, and how to run them without Backplane",
		Long: `Eject writes the schema as files that the plain nomad, vault, consul, amtool
and promtool CLIs apply, and a README.md in --out that says, step by step, in
which order (Vault policies, roles and the secrets to set by name; Consul
intentions; nomad job run per region; Alertmanager; Prometheus rules):

  OUT/README.md
  OUT/nomad/<region>/<project>-<element>.nomad.hcl
  OUT/vault/<project>-<element>.policy.hcl     and .role.json (workload identity)
  OUT/consul/<project>-<element>.intentions.json   when mesh is on
  OUT/alertmanager/alertmanager.yml
  OUT/prometheus/<project>.rules.yml

Nothing in them refers to a Backplane server or binary: the log-shipping
sidecar is left out (ship logs with a node-level agent such as Promtail,
Grafana Alloy or Vector; the README says with which labels). The same
schema always gives the same bytes. Eject refuses to write into a folder
that is not empty unless --force.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return &exitError{code: exitUsage, err: errors.New("eject: --out is required")}
			}
			if err := ejectTarget(out, force); err != nil {
				return err
			}
			reg, err := a.registry()
			if err != nil {
				return err
			}
			s, err := a.load(file)
			if err != nil {
				return err
			}
			// Zero options but these: no Loki URL (no sidecar), no public
			// URL (no editor links), no artifact URLs.
			opts := translator.Options{Credentials: credentials}
			opts.Alerting.SecretsDir = amSecrets
			b, err := a.translate(file, s, reg, opts)
			if err != nil {
				return err
			}
			b.Warnings = ejectWarnings(b.Warnings)
			a.printWarnings(file, b.Warnings)
			fmt.Fprintf(a.stderr, "%s: warning: the logship sidecar is left out of the ejected jobs: ship logs with a node-level agent (Promtail, Grafana Alloy, Vector); %s says how\n",
				file, filepath.Join(out, "README.md"))
			files, err := ejectFiles(s, b, opts)
			if err != nil {
				return &exitError{code: exitInvalid, err: fmt.Errorf("eject %s: %w", file, err)}
			}
			for _, f := range files {
				path := filepath.Join(out, f.Path)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					return &exitError{code: exitUsage, err: fmt.Errorf("eject: write %s: %w", path, err)}
				}
				if err := os.WriteFile(path, f.Data, 0o644); err != nil {
					return &exitError{code: exitUsage, err: fmt.Errorf("eject: write %s: %w", path, err)}
				}
			}
			fmt.Fprintf(a.stdout, "wrote %d files to %s; start with %s\n", len(files), out, filepath.Join(out, "README.md"))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "backplane.yaml", "schema file (YAML or JSON; - for stdin)")
	f.StringVarP(&out, "out", "o", "", "folder to write the files to (empty or new, unless --force)")
	f.BoolVar(&force, "force", false, "write into a folder that is not empty, over files of the same names")
	f.BoolVar(&credentials, "vault", os.Getenv("VAULT_ADDR") != "", "datastores read generated credentials from Vault (default: on when VAULT_ADDR is set)")
	f.StringVar(&amSecrets, "alertmanager-secrets", "/etc/alertmanager/secrets", "folder where Alertmanager reads receivers' secret files, as <folder>/<project>/<NAME>")
	return cmd
}

// ejectTarget refuses a folder that holds anything, unless force.
func ejectTarget(dir string, force bool) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return &exitError{code: exitUsage, err: fmt.Errorf("eject: --out %s: %w", dir, err)}
	case len(entries) > 0 && !force:
		return &exitError{code: exitUsage, err: fmt.Errorf("eject: --out %s is not empty (%d entries); pick an empty folder or pass --force to write over files of the same names", dir, len(entries))}
	}
	return nil
}

// ejectWarnings drops the translator's "log shipping is off" hint, which
// names Backplane's own settings; eject says what to do instead.
func ejectWarnings(ws []translator.Warning) []translator.Warning {
	var out []translator.Warning
	for _, w := range ws {
		if w.Path == "" && strings.HasPrefix(w.Message, "log shipping is off") {
			continue
		}
		out = append(out, w)
	}
	return out
}

// ejectFiles lays the bundle out as the ejected folder, sorted by path.
func ejectFiles(s *schema.Schema, b *translator.Bundle, opts translator.Options) ([]translator.File, error) {
	var files []translator.File
	for _, region := range schema.SortedKeys(b.Jobs) {
		for _, job := range b.Jobs[region] {
			hcl, err := translator.JobHCL(job)
			if err != nil {
				return nil, fmt.Errorf("render %s in region %s: %w", *job.ID, region, err)
			}
			files = append(files, translator.File{Path: filepath.Join("nomad", region, *job.ID+".nomad.hcl"), Data: hcl})
		}
	}
	namespaces := jobNamespaces(b)
	for _, name := range schema.SortedKeys(b.VaultPolicies) {
		role, err := vaultRole(name, namespaces[name])
		if err != nil {
			return nil, err
		}
		files = append(files,
			translator.File{Path: filepath.Join("vault", name+".policy.hcl"), Data: []byte(b.VaultPolicies[name])},
			translator.File{Path: filepath.Join("vault", name+".role.json"), Data: role})
	}
	for _, in := range b.Intentions {
		data, err := intentionFile(in)
		if err != nil {
			return nil, err
		}
		files = append(files, translator.File{Path: filepath.Join("consul", in.Name+".intentions.json"), Data: data})
	}
	files = append(files,
		translator.File{Path: filepath.Join("alertmanager", "alertmanager.yml"), Data: []byte(b.Alertmanager)},
		translator.File{Path: filepath.Join("prometheus", b.Project+".rules.yml"), Data: []byte(b.PrometheusRules)})
	files = append(files, translator.File{Path: "README.md", Data: ejectReadme(s, b, opts, files)})
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// jobNamespaces maps each job ID to its Nomad namespace.
func jobNamespaces(b *translator.Bundle) map[string]string {
	ns := map[string]string{}
	for _, js := range b.Jobs {
		for _, j := range js {
			n := "default"
			if j.Namespace != nil && *j.Namespace != "" {
				n = *j.Namespace
			}
			ns[*j.ID] = n
		}
	}
	return ns
}

// vaultRole renders the JWT auth role a job's workload identity logs in
// with: the role Backplane's deploy writes (jobs.VaultRole).
func vaultRole(name, namespace string) ([]byte, error) {
	if namespace == "" {
		namespace = "default"
	}
	data, err := json.MarshalIndent(jobs.VaultRole(name, namespace), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("render Vault role %s: %w", name, err)
	}
	return append(data, '\n'), nil
}

// intentionFile renders one service-intentions entry as a file that
// `consul config write` takes, without the read-only and zero fields.
func intentionFile(in *consul.ServiceIntentionsConfigEntry) ([]byte, error) {
	raw, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("render Consul intentions for %s: %w", in.Name, err)
	}
	var generic map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		return nil, fmt.Errorf("render Consul intentions for %s: %w", in.Name, err)
	}
	data, err := json.MarshalIndent(dropZero(generic), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("render Consul intentions for %s: %w", in.Name, err)
	}
	return append(data, '\n'), nil
}

// dropZero removes null, zero, false and empty values from decoded JSON.
func dropZero(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			p := dropZero(val)
			switch z := p.(type) {
			case nil:
				continue
			case bool:
				if !z {
					continue
				}
			case string:
				if z == "" {
					continue
				}
			case json.Number:
				if z.String() == "0" {
					continue
				}
			case []any:
				if len(z) == 0 {
					continue
				}
			case map[string]any:
				if len(z) == 0 {
					continue
				}
			}
			out[k] = p
		}
		return out
	case []any:
		out := make([]any, 0, len(x))
		for _, val := range x {
			out = append(out, dropZero(val))
		}
		return out
	}
	return v
}

// ejectReadme is the step-by-step guide of the ejected folder.
func ejectReadme(s *schema.Schema, b *translator.Bundle, opts translator.Options, files []translator.File) []byte {
	var w strings.Builder
	p := b.Project
	line := func(format string, args ...any) { fmt.Fprintf(&w, format+"\n", args...) }
	line("# %s: plain Nomad, Vault, Consul, Alertmanager and Prometheus files", p)
	line("")
	line("These files run project `%s` with the plain `vault`, `consul`, `nomad`, `amtool`", p)
	line("and `promtool` CLIs. Nothing here needs Backplane: no server, no binary on the")
	line("clients. The `backplane.*` job meta and service tags are plain labels; keep them")
	line("or drop them. Run the steps in this order from this folder, with `VAULT_ADDR`,")
	line("`CONSUL_HTTP_ADDR` and `NOMAD_ADDR` (and their tokens) set for your cluster.")
	line("")
	line("Regions and the jobs each one runs:")
	line("")
	for _, region := range schema.SortedKeys(b.Jobs) {
		var ids []string
		for _, j := range b.Jobs[region] {
			ids = append(ids, "`"+*j.ID+"`")
		}
		dcs := ""
		if r, ok := s.Regions[region]; ok && len(r.Datacenters) > 0 {
			dcs = " (datacenters " + strings.Join(r.Datacenters, ", ") + ")"
		}
		line("- `%s`%s: %s", region, dcs, strings.Join(ids, ", "))
	}
	line("")

	step := 0
	next := func(title string) {
		step++
		line("## %d. %s", step, title)
		line("")
	}

	next("Vault: policies, roles and secrets")
	if len(b.VaultPolicies) == 0 && len(b.Secrets) == 0 && len(b.Credentials) == 0 {
		line("No element reads Vault: nothing to do here.")
		line("")
	} else {
		line("Vault needs KV version 2 at `secret/` (`vault secrets enable -path=secret kv-v2`")
		line("if it is not there yet). Jobs log in to Vault with their Nomad workload identity;")
		line("once per cluster, enable the JWT auth method that trusts Nomad's keys, and give")
		line("every Nomad agent a `vault` block with `default_identity { aud = [\"vault.io\"] }`:")
		line("")
		line("```sh")
		line("vault auth enable -path=%s jwt", ejectJWTMount)
		line("vault write auth/%s/config jwks_url=\"$NOMAD_ADDR/.well-known/jwks.json\" \\", ejectJWTMount)
		line("  jwt_supported_algs=RS256,EdDSA default_role=nomad-workloads")
		line("```")
		line("")
		if len(b.VaultPolicies) > 0 {
			line("Each job reads its own secrets (and the credentials of what it connects to) and")
			line("nothing else, through a policy and a role of its own name:")
			line("")
			line("```sh")
			for _, name := range schema.SortedKeys(b.VaultPolicies) {
				line("vault policy write %s vault/%s.policy.hcl", name, name)
				line("vault write auth/%s/role/%s @vault/%s.role.json", ejectJWTMount, name, name)
			}
			line("```")
			line("")
		}
		if len(b.Secrets) > 0 {
			line("Set each element's secrets. Only their names are here; export each value in")
			line("your shell (or read it from your password manager) and put them all in one")
			line("command per element, since `vault kv put` replaces the whole secret:")
			line("")
			line("| element | secrets | Vault path |")
			line("|---|---|---|")
			for _, job := range schema.SortedKeys(b.Secrets) {
				el := strings.TrimPrefix(job, p+"-")
				line("| `%s` | %s | `secret/backplane/%s/%s` |", el, codeList(b.Secrets[job]), p, el)
			}
			line("")
			line("```sh")
			for _, job := range schema.SortedKeys(b.Secrets) {
				el := strings.TrimPrefix(job, p+"-")
				var kv []string
				for _, name := range b.Secrets[job] {
					kv = append(kv, fmt.Sprintf("%s=\"$%s\"", name, name))
				}
				line("vault kv put -mount=secret backplane/%s/%s %s", p, el, strings.Join(kv, " "))
			}
			line("```")
			line("")
		}
		if len(b.Credentials) > 0 {
			line("Datastores and the elements connected to them read a generated password. Make")
			line("one per datastore, once (the datastore is initialised with it):")
			line("")
			line("```sh")
			for _, c := range b.Credentials {
				var kv []string
				for _, k := range c.Keys {
					kv = append(kv, fmt.Sprintf("%s=\"$(openssl rand -hex 16)\"", k))
				}
				line("vault kv put -mount=secret %s %s", c.Path, strings.Join(kv, " "))
			}
			line("```")
			line("")
		}
	}

	if len(b.Intentions) > 0 {
		next("Consul: intentions")
		line("The mesh allows exactly the connections drawn in the schema and denies the rest:")
		line("")
		line("```sh")
		for _, in := range b.Intentions {
			line("consul config write consul/%s.intentions.json", in.Name)
		}
		line("```")
		line("")
	}

	next("Nomad: the jobs, region by region")
	line("Run each file against its region (any server of a federated cluster forwards):")
	line("")
	line("```sh")
	for _, region := range schema.SortedKeys(b.Jobs) {
		for _, j := range b.Jobs[region] {
			line("nomad job run -region=%s nomad/%s/%s.nomad.hcl", region, region, *j.ID)
		}
	}
	line("```")
	line("")
	line("`nomad job plan` first shows what would change; `nomad job validate` checks a file.")
	line("Connections are resolved at run time by each job's templates, so the order does")
	line("not matter: an element waits until what it connects to is registered.")
	line("")

	next("Alertmanager: routes and receivers")
	line("`alertmanager/alertmanager.yml` is a complete config with the project's route and")
	line("receivers. Run it as is, or merge its route (as a child of your root route) and")
	line("its receivers into your own config.")
	if strings.Contains(b.Alertmanager, "email_configs:") {
		line("Email receivers need the config's `global` section to set `smtp_smarthost` and")
		line("`smtp_from` (add it when you run the file as is).")
	}
	line("Check it first:")
	line("")
	line("```sh")
	line("amtool check-config alertmanager/alertmanager.yml")
	line("```")
	line("")
	if len(b.AlertSecrets) > 0 {
		line("Receivers read their secrets from files; write each (mode 0600, readable by")
		line("Alertmanager) before it loads the config:")
		line("")
		for _, name := range b.AlertSecrets {
			line("- `%s`: `%s`", name, filepath.Join(opts.Alerting.SecretsDir, p, name))
		}
		line("")
	}
	line("Then reload Alertmanager (`kill -HUP` its process, or `POST /-/reload`).")
	line("")

	next("Prometheus: alerting rules")
	line("The rules read Nomad's allocation metrics: each agent needs")
	line("`telemetry { publish_allocation_metrics = true, prometheus_metrics = true }`, and")
	line("Prometheus scrapes `/v1/metrics?format=prometheus` with `honor_labels: true`, so")
	line("the `job` label stays the Nomad job ID. Check the file, add it to `rule_files`, and")
	line("reload Prometheus (`kill -HUP`, or `POST /-/reload` with the lifecycle API on):")
	line("")
	line("```sh")
	line("promtool check rules prometheus/%s.rules.yml", p)
	line("```")
	line("")
	line("Point Prometheus's `alerting` section at the Alertmanager above. Alerts on failed")
	line("allocations, restart loops and failed deployments came from Backplane's event")
	line("watch; without it, write rules on `nomad_nomad_job_summary_failed` and friends,")
	line("or watch `nomad job status`.")
	line("")

	next("Logs")
	line("Backplane's jobs ran a log-shipping sidecar next to each long-running task; the")
	line("jobs here have none. Run a node-level log shipper on every Nomad client instead,")
	line("such as Promtail, Grafana Alloy or Vector, reading each allocation's")
	line("`alloc/logs/<task>.stdout.N` and `.stderr.N` files under the client's data dir")
	line("(or Nomad's API), and push to Loki with the labels Backplane used, so existing")
	line("queries and dashboards keep working:")
	line("")
	line("| label | value |")
	line("|---|---|")
	line("| `project` | `%s` |", p)
	line("| `element` | the job's `backplane.element` meta |")
	line("| `region` | the Nomad region |")
	line("| `task` | the task name |")
	line("| `alloc` | the allocation ID |")
	line("")
	if len(b.Warnings) > 0 {
		line("## Notes")
		line("")
		for _, wn := range b.Warnings {
			line("- %s", wn.String())
		}
		line("")
	}
	line("## Files")
	line("")
	for _, f := range files {
		line("- `%s`", f.Path)
	}
	return []byte(w.String())
}

func codeList(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "`" + n + "`"
	}
	return strings.Join(out, ", ")
}
