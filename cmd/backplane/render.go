package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/backplane-dev/backplane/translator"
)

func (a *app) renderCmd() *cobra.Command {
	var file, out, format, revision string
	var opts translator.Options
	cmd := &cobra.Command{
		Use:   "render",
		Short: "Render the schema as Nomad jobs, Consul, Vault and Alertmanager files",
		Long: `Render writes, for the same input always the same bytes:

  OUT/<region>/<project>-<element>.nomad.json   the job as PUT /v1/jobs takes it
  OUT/<region>/<project>-<element>.nomad.hcl    the same job as HCL2
  OUT/consul/intentions.json                    when mesh is on
  OUT/vault/<project>-<element>.policy.hcl      for elements that read Vault
  OUT/alertmanager.yml, OUT/prometheus-rules.yml

With --format json it prints the whole bundle as one JSON document instead.
Datastore credentials come from Vault when VAULT_ADDR is set (or --vault);
log shipping is on when BACKPLANE_LOKI_URL or --loki-url is set.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "files" && format != "json" {
				return &exitError{code: exitUsage, err: fmt.Errorf("--format must be files or json, not %q", format)}
			}
			if format == "files" && out == "" {
				return &exitError{code: exitUsage, err: fmt.Errorf("--out is required unless --format json")}
			}
			reg, err := a.registry()
			if err != nil {
				return err
			}
			s, err := a.load(file)
			if err != nil {
				return err
			}
			opts.Revision = revision
			b, err := a.translate(file, s, reg, opts)
			if err != nil {
				return err
			}
			a.printWarnings(file, b.Warnings)
			if format == "json" {
				data, err := b.JSON()
				if err != nil {
					return &exitError{code: exitInvalid, err: err}
				}
				_, err = a.stdout.Write(data)
				return err
			}
			files, err := b.Files()
			if err != nil {
				return &exitError{code: exitInvalid, err: err}
			}
			for _, f := range files {
				path := filepath.Join(out, f.Path)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					return &exitError{code: exitUsage, err: fmt.Errorf("write %s: %w", path, err)}
				}
				if err := os.WriteFile(path, f.Data, 0o644); err != nil {
					return &exitError{code: exitUsage, err: fmt.Errorf("write %s: %w", path, err)}
				}
				fmt.Fprintln(a.stdout, "wrote", path)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "backplane.yaml", "schema file (YAML or JSON; - for stdin)")
	f.StringVarP(&out, "out", "o", "", "folder to write the files to")
	f.StringVar(&format, "format", "files", "files (into --out) or json (the whole bundle on stdout)")
	f.StringVar(&revision, "revision", "", "schema revision to record in job meta")
	f.StringVar(&opts.LokiURL, "loki-url", os.Getenv("BACKPLANE_LOKI_URL"), "Loki push URL; turns on the logship sidecar (env BACKPLANE_LOKI_URL)")
	f.BoolVar(&opts.Credentials, "vault", os.Getenv("VAULT_ADDR") != "", "generate datastore credentials into Vault (default: on when VAULT_ADDR is set)")
	f.StringVar(&opts.LokiTenant, "loki-tenant", os.Getenv("BACKPLANE_LOKI_TENANT"), "Loki tenant the sidecar pushes as (env BACKPLANE_LOKI_TENANT)")
	logshipFlags(f, &opts.Logship)
	return cmd
}

// logshipFlags are the settings of how the logship sidecar reaches a
// client, shared by render, plan, deploy and serve.
func logshipFlags(f *pflag.FlagSet, o *translator.LogshipOptions) {
	f.StringVar(&o.Image, "logship-image", os.Getenv("BACKPLANE_LOGSHIP_IMAGE"),
		"image of the logship sidecar under docker (env BACKPLANE_LOGSHIP_IMAGE; default "+translator.DefaultLogshipImage+")")
	f.StringVar(&o.ArtifactURL, "logship-artifact", os.Getenv("BACKPLANE_LOGSHIP_ARTIFACT"),
		"URL of a .tar.gz holding the backplane binary, for the sidecar under exec/raw_exec (env BACKPLANE_LOGSHIP_ARTIFACT; serve defaults to its own /dist)")
	f.StringVar(&o.Command, "logship-command", os.Getenv("BACKPLANE_LOGSHIP_COMMAND"),
		"path of a backplane binary already on every client, for exec/raw_exec (env BACKPLANE_LOGSHIP_COMMAND)")
}
