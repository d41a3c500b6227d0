package test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/backplane-dev/backplane/test/agent"
	"github.com/backplane-dev/backplane/translator"
)

// ejectEnv is what a user's shell might carry from running Backplane: a
// server, its public URL, a Loki and the sidecar's artifact. None of it may
// reach the ejected files.
var ejectEnv = []string{
	"BACKPLANE_PUBLIC_URL=http://backplane.example:8470",
	"BACKPLANE_LOKI_URL=http://loki.example:3100",
	"BACKPLANE_LOGSHIP_ARTIFACT=http://backplane.example:8470/dist/backplane_linux_amd64.tar.gz",
	"BACKPLANE_LOGSHIP_COMMAND=/opt/backplane/bin/backplane",
	"BACKPLANE_LOGSHIP_IMAGE=registry.example/backplane:1",
	"VAULT_ADDR=",
}

// ejected reads every file under dir, by path relative to it.
func ejected(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[rel] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// renderedBundle is the bundle `render --format json` prints, without
// Vault and Loki, to check the ejected files against.
func renderedBundle(t *testing.T, file string) *translator.Bundle {
	t.Helper()
	code, out := runCLI(t, []string{"VAULT_ADDR=", "BACKPLANE_LOKI_URL="}, "", "render", "-f", file, "--format", "json")
	if code != 0 {
		t.Fatalf("render %s: exit %d\n%s", file, code, out)
	}
	var b translator.Bundle
	// Warnings go to the same combined output: decode from the JSON's start.
	start := strings.Index(out, "{\n")
	if err := json.NewDecoder(strings.NewReader(out[start:])).Decode(&b); err != nil {
		t.Fatalf("decode render output: %v\n%s", err, out)
	}
	return &b
}

// TestEjectExamples ejects every example and the mesh case, and checks the
// files: one HCL job per element and region, Vault policies and roles,
// intentions, the alert and rule files, a README naming every secret and
// its path, nothing of Backplane's server or sidecar, the same bytes twice,
// and a non-empty folder refused without --force. With the peers on PATH,
// the files pass nomad, consul, amtool and promtool checks.
func TestEjectExamples(t *testing.T) {
	files, err := filepath.Glob("../examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	files = append(files, "../translator/testdata/mesh/backplane.yaml")
	outs := map[string]string{}
	root := t.TempDir() // outlives the subtests, for the checks that follow
	for _, file := range files {
		name := filepath.Base(file)
		if name == "backplane.yaml" {
			name = filepath.Base(filepath.Dir(file))
		}
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(root, name)
			code, msg := runCLI(t, ejectEnv, "", "eject", "-f", file, "--out", out)
			if code != 0 {
				t.Fatalf("eject: exit %d\n%s", code, msg)
			}
			if !strings.Contains(msg, "warning: the logship sidecar is left out") {
				t.Errorf("eject did not warn that the sidecar is left out:\n%s", msg)
			}
			got := ejected(t, out)
			b := renderedBundle(t, file)
			readme := string(got["README.md"])
			if readme == "" {
				t.Fatalf("no README.md; files: %v", ejectedPaths(got))
			}
			want := []string{"README.md",
				filepath.Join("alertmanager", "alertmanager.yml"),
				filepath.Join("prometheus", b.Project+".rules.yml")}
			for region, js := range b.Jobs {
				for _, j := range js {
					p := filepath.Join("nomad", region, *j.ID+".nomad.hcl")
					want = append(want, p)
					if !strings.Contains(readme, "nomad job run -region="+region+" "+p) {
						t.Errorf("README does not run %s in %s", p, region)
					}
				}
			}
			for name := range b.VaultPolicies {
				want = append(want, filepath.Join("vault", name+".policy.hcl"), filepath.Join("vault", name+".role.json"))
				if !strings.Contains(readme, "vault policy write "+name+" vault/"+name+".policy.hcl") {
					t.Errorf("README does not write policy %s", name)
				}
			}
			for _, in := range b.Intentions {
				p := filepath.Join("consul", in.Name+".intentions.json")
				want = append(want, p)
				if !strings.Contains(readme, "consul config write "+p) {
					t.Errorf("README does not write %s", p)
				}
			}
			sort.Strings(want)
			if g := ejectedPaths(got); strings.Join(g, "\n") != strings.Join(want, "\n") {
				t.Errorf("ejected files:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
			}
			for job, names := range b.Secrets {
				el := strings.TrimPrefix(job, b.Project+"-")
				path := "backplane/" + b.Project + "/" + el
				for _, n := range names {
					if !strings.Contains(readme, "vault kv put -mount=secret "+path+" ") || !strings.Contains(readme, n+`="$`+n+`"`) {
						t.Errorf("README does not say to set %s of %s at %s", n, el, path)
					}
				}
			}
			for _, n := range b.AlertSecrets {
				if !strings.Contains(readme, filepath.Join("/etc/alertmanager/secrets", b.Project, n)) {
					t.Errorf("README does not name the file of alert secret %s", n)
				}
			}
			if !strings.Contains(readme, "Promtail") {
				t.Error("README does not point to a node-level log shipper")
			}
			// Nothing refers to Backplane's server, its sidecar or its binary.
			for p, data := range got {
				for _, bad := range []string{"backplane.example", "loki.example", "/dist/", "logship", "/opt/backplane", "registry.example",
					translator.DefaultLogshipArtifactURL, translator.DefaultLogshipImage} {
					if bytes.Contains(data, []byte(bad)) {
						t.Errorf("%s refers to %q", p, bad)
					}
				}
			}
			// The same schema gives the same bytes.
			again := filepath.Join(t.TempDir(), "again")
			if code, msg := runCLI(t, ejectEnv, "", "eject", "-f", file, "--out", again); code != 0 {
				t.Fatalf("second eject: exit %d\n%s", code, msg)
			}
			for p, data := range ejected(t, again) {
				if !bytes.Equal(data, got[p]) {
					t.Errorf("%s differs between two ejects", p)
				}
			}
			// A folder with something in it is left alone unless --force.
			code, msg = runCLI(t, ejectEnv, "", "eject", "-f", file, "--out", out)
			if code == 0 || !strings.Contains(msg, "is not empty") || !strings.Contains(msg, "--force") {
				t.Errorf("eject into a non-empty folder: exit %d\n%s", code, msg)
			}
			if code, msg := runCLI(t, ejectEnv, "", "eject", "-f", file, "--out", out, "--force"); code != 0 {
				t.Errorf("eject --force: exit %d\n%s", code, msg)
			}
			outs[name] = out
			checkWithTools(t, out, got, b)
		})
	}
	t.Run("nomad validates every job", func(t *testing.T) {
		agent.Require(t, "nomad")
		n := agent.StartNomad(t, agent.NomadOptions{})
		for name, out := range outs {
			for p := range ejected(t, out) {
				if !strings.HasSuffix(p, ".nomad.hcl") {
					continue
				}
				data, err := os.ReadFile(filepath.Join(out, p))
				if err != nil {
					t.Fatal(err)
				}
				job, err := n.Client.Jobs().ParseHCL(string(data), true)
				if err != nil {
					t.Errorf("%s: %s: nomad cannot parse it: %v", name, p, err)
					continue
				}
				// Validate in the agent's region: the job's own region is
				// what it names, not where the check runs.
				resp, _, err := n.Client.Jobs().Validate(job, &nomad.WriteOptions{Region: n.Region})
				if err != nil {
					t.Errorf("%s: %s: validate: %v", name, p, err)
					continue
				}
				if resp.Error != "" || len(resp.ValidationErrors) > 0 {
					t.Errorf("%s: %s: nomad rejects it: %s %v", name, p, resp.Error, resp.ValidationErrors)
				}
			}
		}
	})
	t.Run("consul writes every intention", func(t *testing.T) {
		bin := agent.Require(t, "consul")
		c := agent.StartConsul(t)
		out := outs["mesh"]
		var written int
		for p := range ejected(t, out) {
			if !strings.HasPrefix(p, "consul/") {
				continue
			}
			cmd := exec.Command(bin, "config", "write", filepath.Join(out, p))
			cmd.Env = append(os.Environ(), "CONSUL_HTTP_ADDR="+c.Addr)
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("consul config write %s: %v\n%s", p, err, msg)
			}
			written++
		}
		if written == 0 {
			t.Fatal("the mesh case ejected no intentions")
		}
		cmd := exec.Command(bin, "config", "list", "-kind", "service-intentions")
		cmd.Env = append(os.Environ(), "CONSUL_HTTP_ADDR="+c.Addr)
		list, err := cmd.CombinedOutput()
		if err != nil || len(strings.Fields(string(list))) != written {
			t.Errorf("consul lists %q after writing %d entries (%v)", list, written, err)
		}
	})
}

// checkWithTools runs amtool and promtool on the alert and rule files,
// each when it is on PATH.
func checkWithTools(t *testing.T, out string, got map[string][]byte, b *translator.Bundle) {
	t.Helper()
	if amtool, err := exec.LookPath("amtool"); err == nil {
		cfg := filepath.Join(out, "alertmanager", "alertmanager.yml")
		data := got[filepath.Join("alertmanager", "alertmanager.yml")]
		if bytes.Contains(data, []byte("email_configs:")) {
			// As the README says: email needs the global SMTP settings.
			if !strings.Contains(string(got["README.md"]), "smtp_smarthost") {
				t.Error("README does not say email receivers need smtp_smarthost")
			}
			cfg = filepath.Join(t.TempDir(), "alertmanager.yml")
			withSMTP := append([]byte("global:\n  smtp_smarthost: localhost:25\n  smtp_from: alerts@example.com\n"), data...)
			if err := os.WriteFile(cfg, withSMTP, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		msg, err := exec.Command(amtool, "check-config", cfg).CombinedOutput()
		if err != nil {
			t.Errorf("amtool check-config: %v\n%s", err, msg)
		}
	} else {
		t.Log("amtool not on PATH: the Alertmanager file is not checked")
	}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		msg, err := exec.Command(promtool, "check", "rules", filepath.Join(out, "prometheus", b.Project+".rules.yml")).CombinedOutput()
		if err != nil {
			t.Errorf("promtool check rules: %v\n%s", err, msg)
		}
	} else {
		t.Log("promtool not on PATH: the rule file is not checked")
	}
}

func ejectedPaths[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ejectSchema is one raw_exec app serving HTTP on its port, with a health
// check, env, a connection-free template set and meta.
const ejectSchema = `version: 1
project: ejectme
defaults: { driver: raw_exec }
elements:
  - id: web
    kind: app.command
    command: exec python3 -m http.server $PORT --bind 127.0.0.1
    port: 8000
    env: { GREETING: "hello ${x} {{ y }} %{z}" }
    resources: { cpu: 50, memory: 64 }
    health: { http: /, interval: 2s, timeout: 1s, min_healthy_time: 1s }
`

// TestEjectRunsLikeDeploy deploys a project with `backplane deploy`, reads
// the job back, destroys it, runs the ejected HCL with `nomad job run`,
// and checks Nomad holds the same job (groups, tasks, templates, services,
// meta) and that its allocation becomes healthy.
func TestEjectRunsLikeDeploy(t *testing.T) {
	nomadBin := agent.Require(t, "nomad")
	agent.Require(t, "python3")
	n := agent.StartNomad(t, agent.NomadOptions{})
	dir := t.TempDir()
	file := filepath.Join(dir, "backplane.yaml")
	if err := os.WriteFile(file, []byte(ejectSchema), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"NOMAD_ADDR=" + n.Addr, "VAULT_ADDR=", "CONSUL_HTTP_ADDR=", "BACKPLANE_LOKI_URL="}
	const jobID = "ejectme-web"

	code, out := runCLI(t, env, "", "deploy", "-f", file, "--wait", "--timeout", "2m")
	if code != 0 {
		t.Fatalf("deploy: exit %d\n%s", code, out)
	}
	deployed, _, err := n.Client.Jobs().Info(jobID, nil)
	if err != nil {
		t.Fatalf("read the deployed job: %v", err)
	}
	if code, out := runCLI(t, env, "", "destroy", "-f", file, "--purge"); code != 0 {
		t.Fatalf("destroy: exit %d\n%s", code, out)
	}
	waitGone(t, n.Client, jobID)

	ej := filepath.Join(dir, "ejected")
	if code, out := runCLI(t, env, "", "eject", "-f", file, "--out", ej); code != 0 {
		t.Fatalf("eject: exit %d\n%s", code, out)
	}
	hcl := filepath.Join(ej, "nomad", "global", jobID+".nomad.hcl")
	cmd := exec.Command(nomadBin, "job", "run", "-detach", hcl)
	cmd.Env = append(os.Environ(), "NOMAD_ADDR="+n.Addr, "NOMAD_TOKEN=", "NOMAD_REGION=")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nomad job run %s: %v\n%s", hcl, err, msg)
	}
	run, _, err := n.Client.Jobs().Info(jobID, nil)
	if err != nil {
		t.Fatalf("read the ejected job: %v", err)
	}
	a, b := comparableJob(t, deployed), comparableJob(t, run)
	if a != b {
		t.Errorf("the ejected job differs from the deployed one:\n%s", lineDiff(a, b))
	}
	waitAllocHealthy(t, n.Client, jobID, 2*time.Minute)
}

// comparableJob is the job as JSON without what changes between two
// registrations of the same spec (indexes, versions, times, status) and
// without the logship sidecar.
func comparableJob(t *testing.T, j *nomad.Job) string {
	t.Helper()
	c := *j
	c.Status, c.StatusDescription = nil, nil
	c.Stable, c.Version, c.SubmitTime = nil, nil, nil
	c.CreateIndex, c.ModifyIndex, c.JobModifyIndex = nil, nil, nil
	c.Stop = nil
	var groups []*nomad.TaskGroup
	for _, g := range j.TaskGroups {
		gc := *g
		gc.Tasks = nil
		for _, task := range g.Tasks {
			if task.Name != "logship" {
				gc.Tasks = append(gc.Tasks, task)
			}
		}
		groups = append(groups, &gc)
	}
	c.TaskGroups = groups
	data, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// lineDiff shows the lines of a and b that differ, with their numbers.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out strings.Builder
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			fmt.Fprintf(&out, "%d:\n  deployed: %s\n  ejected:  %s\n", i+1, x, y)
		}
	}
	return out.String()
}

// waitGone waits until the purged job is no longer known.
func waitGone(t *testing.T, c *nomad.Client, jobID string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if _, _, err := c.Jobs().Info(jobID, nil); err != nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s still registered after destroy --purge", jobID)
}

// waitAllocHealthy waits until an allocation of the job is running and
// marked healthy by its deployment.
func waitAllocHealthy(t *testing.T, c *nomad.Client, jobID string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		allocs, _, err := c.Jobs().Allocations(jobID, false, nil)
		if err == nil {
			for _, a := range allocs {
				last = a.ClientStatus
				if a.DeploymentStatus != nil && a.DeploymentStatus.Healthy != nil {
					last += fmt.Sprintf(" healthy=%v", *a.DeploymentStatus.Healthy)
					if a.ClientStatus == "running" && *a.DeploymentStatus.Healthy {
						return
					}
				}
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("no healthy allocation of %s after %s (last: %s)", jobID, timeout, last)
}

// TestEjectBadInput: a missing --out, and a schema with a problem, get an
// error naming what is wrong, and nothing is written.
func TestEjectBadInput(t *testing.T) {
	dir := t.TempDir()
	code, msg := runCLI(t, ejectEnv, "", "eject", "-f", "../examples/local.yaml")
	if code != 2 || !strings.Contains(msg, "--out is required") {
		t.Errorf("eject without --out: exit %d\n%s", code, msg)
	}
	file := filepath.Join(dir, "backplane.yaml")
	bad := strings.Replace(ejectSchema, "port: 8000", "port: 70000", 1)
	if err := os.WriteFile(file, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	code, msg = runCLI(t, ejectEnv, "", "eject", "-f", file, "--out", out)
	if code != 1 || !strings.Contains(msg, file+": elements[web].port:") {
		t.Errorf("eject of a bad schema: exit %d\n%s", code, msg)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("eject of a bad schema wrote %s (%v)", out, err)
	}
}
