package translator

import (
	"strings"
	"testing"

	"github.com/hashicorp/go-envparse"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Hostile strings reach the task exactly: the env file a template renders
// parses (as Nomad parses it, with go-envparse) back into the schema's env,
// and start.sh is the command as written.
func TestHostileStringsReachTheTask(t *testing.T) {
	s := mustDecode(t, mustRead(t, "testdata/hostile-strings/backplane.yaml"))
	b := translate(t, s, Options{})
	task := b.Jobs["global"][0].TaskGroups[0].Tasks[0]
	e := s.Element("echo")
	var sawEnv, sawScript bool
	for _, tpl := range task.Templates {
		out := renderTemplate(t, *tpl.EmbeddedTmpl, nil)
		switch *tpl.DestPath {
		case "local/env.env":
			sawEnv = true
			got, err := envparse.Parse(strings.NewReader(out))
			if err != nil {
				t.Fatalf("env file does not parse: %v\n%s", err, out)
			}
			if len(got) != len(e.Env) {
				t.Errorf("env has %d vars, want %d", len(got), len(e.Env))
			}
			for k, want := range e.Env {
				if got[k] != want {
					t.Errorf("env %s = %q, want %q", k, got[k], want)
				}
			}
		case "local/start.sh":
			sawScript = true
			if want := "#!/bin/sh\nset -e\n" + e.Command + "\n"; out != want {
				t.Errorf("start.sh = %q, want %q", out, want)
			}
		}
	}
	if !sawEnv || !sawScript {
		t.Fatalf("templates missing: env %v script %v", sawEnv, sawScript)
	}
}

func TestSecretValuesSurviveTheEnvFile(t *testing.T) {
	s := mustDecode(t, mustRead(t, "testdata/secrets-receivers/backplane.yaml"))
	b := translate(t, s, Options{})
	for _, j := range b.Jobs["global"] {
		if *j.ID != "pay-api" {
			continue
		}
		for _, tpl := range j.TaskGroups[0].Tasks[0].Templates {
			if *tpl.DestPath != "secrets/secrets.env" {
				continue
			}
			hostile := "sk_live_\"quoted\"\nnewline # hash {{ braces }} ${x} \\ back"
			out := renderTemplate(t, *tpl.EmbeddedTmpl, map[string]any{"STRIPE_KEY": hostile, "JWT_SIGNING_KEY": "k"})
			got, err := envparse.Parse(strings.NewReader(out))
			if err != nil {
				t.Fatalf("secrets env does not parse: %v\n%s", err, out)
			}
			if got["STRIPE_KEY"] != hostile || got["JWT_SIGNING_KEY"] != "k" {
				t.Fatalf("secrets = %q", got)
			}
			return
		}
	}
	t.Fatal("no secrets template in pay-api")
}

// Every golden job's HCL parses, and the strings that carry user input (each
// template's data and the task args) evaluate to exactly the JSON job's.
// The real-agent suite checks the whole job through Nomad's own parser.
func TestHCLStringsRoundTrip(t *testing.T) {
	for _, dir := range goldenDirs(t) {
		files, _ := renderCase(t, dir)
		byPath := map[string][]byte{}
		for _, f := range files {
			byPath[f.Path] = f.Data
		}
		for path, data := range byPath {
			if !strings.HasSuffix(path, ".nomad.hcl") {
				continue
			}
			t.Run(dir+"/"+path, func(t *testing.T) {
				job := decodeJobJSON(t, byPath[strings.TrimSuffix(path, ".hcl")+".json"])
				f, diags := hclsyntax.ParseConfig(data, path, hcl.InitialPos)
				if diags.HasErrors() {
					t.Fatalf("HCL does not parse: %v", diags)
				}
				var want []string
				for _, g := range job.TaskGroups {
					for _, tk := range g.Tasks {
						for _, tpl := range tk.Templates {
							want = append(want, *tpl.EmbeddedTmpl)
						}
					}
				}
				var got []string
				walkBlocks(f.Body.(*hclsyntax.Body), func(blk *hclsyntax.Block) {
					if blk.Type != "template" {
						return
					}
					v, diags := blk.Body.Attributes["data"].Expr.Value(nil)
					if diags.HasErrors() {
						t.Fatalf("template data does not evaluate without variables: %v", diags)
					}
					got = append(got, v.AsString())
				})
				if len(got) != len(want) {
					t.Fatalf("%d templates in HCL, %d in JSON", len(got), len(want))
				}
				for i := range want {
					if got[i] != want[i] {
						t.Errorf("template %d:\n got %q\nwant %q", i, got[i], want[i])
					}
				}
			})
		}
	}
}

func walkBlocks(b *hclsyntax.Body, fn func(*hclsyntax.Block)) {
	for _, blk := range b.Blocks {
		fn(blk)
		walkBlocks(blk.Body, fn)
	}
}
