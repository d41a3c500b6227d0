package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func (a *app) kindsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "kinds",
		Short: "List the element kinds: the editor's palette",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reg, err := a.registry()
			if err != nil {
				return err
			}
			infos := reg.Infos()
			if asJSON {
				data, err := json.MarshalIndent(infos, "", "  ")
				if err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, string(data))
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KIND\tCATEGORY\tLABEL\tEXPORTS\tSOURCE")
			for _, in := range infos {
				exports := make([]string, 0, len(in.Exports))
				for _, e := range in.Exports {
					exports = append(exports, e.Env)
				}
				src := "built-in"
				if in.User {
					src = "user"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", in.Name, in.Category, in.Label, dash(strings.Join(exports, ",")), src)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the kinds' full info as JSON")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
