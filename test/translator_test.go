package test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	nomad "github.com/hashicorp/nomad/api"

	"github.com/backplane-dev/backplane/test/agent"
)

// goldenJobs lists the translator's golden job files (JSON; the HCL file
// sits beside each).
func goldenJobs(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../translator/testdata/*/out/*/*.nomad.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("found only %d golden jobs", len(files))
	}
	return files
}

func readJob(t *testing.T, path string) *nomad.Job {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var w struct{ Job *nomad.Job }
	if err := json.Unmarshal(data, &w); err != nil || w.Job == nil {
		t.Fatalf("%s: %v", path, err)
	}
	return w.Job
}

// TestGoldenJobsOnRealNomad checks every golden job against a real Nomad:
// the JSON job passes /v1/validate/job, and the HCL file parses through
// /v1/jobs/parse into the same job.
func TestGoldenJobsOnRealNomad(t *testing.T) {
	n := agent.StartNomad(t, agent.NomadOptions{})
	wo := &nomad.WriteOptions{Region: n.Region}
	for _, path := range goldenJobs(t) {
		name := strings.TrimPrefix(path, "../translator/testdata/")
		t.Run(name, func(t *testing.T) {
			job := readJob(t, path)
			resp, _, err := n.Client.Jobs().Validate(job, wo)
			if err != nil {
				t.Fatalf("validate: %v", err)
			}
			if resp.Error != "" || len(resp.ValidationErrors) > 0 {
				t.Fatalf("Nomad rejects the job: %s %v", resp.Error, resp.ValidationErrors)
			}
			if resp.Warnings != "" {
				t.Logf("Nomad warns: %s", resp.Warnings)
			}

			hcl, err := os.ReadFile(strings.TrimSuffix(path, ".json") + ".hcl")
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := n.Client.Jobs().ParseHCLOpts(&nomad.JobsParseRequest{JobHCL: string(hcl)})
			if err != nil {
				t.Fatalf("Nomad cannot parse the HCL: %v", err)
			}
			// Both sides are canonicalized by the same code, so the
			// comparison does not depend on which defaults this Nomad fills.
			parsed.Canonicalize()
			job.Canonicalize()
			if diff := cmp.Diff(job, parsed); diff != "" {
				t.Fatalf("HCL parses to a different job (-json +hcl):\n%s", diff)
			}
		})
	}
}
