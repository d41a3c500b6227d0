package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/backplane-dev/backplane/schema/compose"
)

func (a *app) importCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Turn another tool's project into a schema",
	}
	var files, profiles []string
	var project, out string
	var quiet bool
	composeCmd := &cobra.Command{
		Use:   "compose FILE [-f MORE.yml]... [--profile P]... [--project NAME]",
		Short: "Turn a docker-compose project into backplane.yaml",
		Long: `Compose reads a docker-compose project (the files merged in order, the .env
beside the first file, profiles and extends) and prints the schema it maps
to on stdout, or writes it to --out. Every key it cannot carry over is a
warning on stderr, as FILE: services.NAME.KEY: message. Secret-looking env
vars become secret names: set their values with backplane secrets set.

The schema is checked against the element kinds before it is written; a
problem there exits 1, like validate.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			reg, err := a.registry()
			if err != nil {
				return err
			}
			s, warns, err := compose.Import(cmd.Context(), compose.Options{
				Files: append([]string{args[0]}, files...), Profiles: profiles,
				Project: project, Environ: os.Environ(),
			})
			if err != nil {
				return &exitError{code: exitInvalid, err: err}
			}
			if !quiet {
				for _, w := range warns {
					fmt.Fprintln(a.stderr, w.String())
				}
			}
			data, err := s.EncodeYAML()
			if err != nil {
				return &exitError{code: exitInvalid, err: fmt.Errorf("import compose: %w", err)}
			}
			name := out
			if name == "" {
				name = "<stdout>"
			}
			if errs := reg.Validate(s); len(errs) > 0 {
				return &exitError{code: exitInvalid, err: fmt.Errorf("import compose: the result does not fit the element kinds:\n%w", errs.WithFile(name))}
			}
			if out == "" {
				_, err = a.stdout.Write(data)
				return err
			}
			if err := os.WriteFile(out, data, 0o644); err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("write %s: %w", out, err)}
			}
			return nil
		},
	}
	composeCmd.Flags().StringArrayVarP(&files, "file", "f", nil, "another compose file merged over the first (repeatable)")
	composeCmd.Flags().StringArrayVar(&profiles, "profile", nil, "a compose profile to enable (repeatable)")
	composeCmd.Flags().StringVar(&project, "project", "", "project name (default: the compose project's name)")
	composeCmd.Flags().StringVarP(&out, "out", "o", "", "write the schema to this file instead of stdout")
	composeCmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "do not print warnings")
	cmd.AddCommand(composeCmd)
	return cmd
}
