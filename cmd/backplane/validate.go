package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/backplane-dev/backplane/translator"
)

func (a *app) validateCmd() *cobra.Command {
	var file string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check a schema and print every problem as FILE: PATH: message",
		Long: `Validate decodes the schema strictly, checks it against the element kinds and
translates it. It prints every problem, one per line, as FILE: PATH: message,
and exits 1 if there are any. Exit code 0 means render will succeed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reg, err := a.registry()
			if err != nil {
				return err
			}
			s, err := a.load(file)
			if err != nil {
				return err
			}
			b, err := a.translate(file, s, reg, translator.Options{})
			if err != nil {
				return err
			}
			if !quiet {
				a.printWarnings(file, b.Warnings)
			}
			jobs := 0
			for _, js := range b.Jobs {
				jobs += len(js)
			}
			fmt.Fprintf(a.stdout, "%s: ok: %d elements, %d connections, %d jobs in %d regions\n",
				file, len(s.Elements), len(s.Connections), jobs, len(b.Jobs))
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "backplane.yaml", "schema file (YAML or JSON; - for stdin)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "do not print warnings")
	return cmd
}
