package test

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backplane-dev/backplane/test/agent"
)

// cliServerSchema is one element that becomes healthy in a few seconds
// on a dev agent.
const cliServerSchema = `version: 1
project: clisrv
defaults: { driver: raw_exec }
elements:
  - id: web
    kind: app.command
    command: exec python3 -m http.server "$PORT" --bind 127.0.0.1
    port: 8000
    health: { http: /, interval: 1s, timeout: 1s, min_healthy_time: 1s }
    resources: { cpu: 50, memory: 64 }
`

// TestCLIThroughServer runs the CLI through a real `backplane serve` on a
// real Nomad: a deployer's token deploys and waits (exit 0) and the deploy
// is audited under that user; a viewer's token is refused with a message
// naming the role (exit 1); a deployer cannot destroy, an admin can. The
// CLI's NOMAD_ADDR points nowhere, so everything it does goes through the
// server.
func TestCLIThroughServer(t *testing.T) {
	n := agent.StartNomad(t, agent.NomadOptions{})
	const adminToken = "bootstrap-admin-token-cli-suite-0123456789"
	s := serve(t, "NOMAD_ADDR="+n.Addr, "NOMAD_REGION=", "NOMAD_TOKEN=", "CONSUL_HTTP_ADDR=", "VAULT_ADDR=",
		"BACKPLANE_ADMIN_TOKEN="+adminToken)
	admin := func(method, path, body string) (int, string) {
		t.Helper()
		code, _, out := s.call(t, method, path, body, "Authorization", "Bearer "+adminToken, "Content-Type", "application/json")
		return code, out
	}
	mustAdmin := func(want int, method, path, body string) string {
		t.Helper()
		code, out := admin(method, path, body)
		if code != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, code, want, out)
		}
		return out
	}
	mustAdmin(201, "POST", "/projects", `{"slug":"clisrv","name":"CLI through the server"}`)
	for _, u := range []struct{ name, role string }{{"dana", "deployer"}, {"vic", "viewer"}} {
		mustAdmin(201, "POST", "/users", `{"name":"`+u.name+`","display_name":"`+u.name+`","password":"`+u.name+`-password-0123"}`)
		mustAdmin(200, "PUT", "/projects/clisrv/members/"+u.name, `{"role":"`+u.role+`"}`)
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "backplane.yaml")
	if err := os.WriteFile(file, []byte(cliServerSchema), 0o644); err != nil {
		t.Fatal(err)
	}
	// Dana signs in with the CLI: it creates her token and stores it.
	config := t.TempDir()
	base := []string{"XDG_CONFIG_HOME=" + config, "NOMAD_ADDR=http://127.0.0.1:1", "BACKPLANE_SERVER=", "BACKPLANE_TOKEN="}
	code, out := runCLI(t, base, "dana\ndana-password-0123\n", "login", "--server", s.URL)
	if code != 0 || !strings.Contains(out, "signed in to "+s.URL+" as dana") {
		t.Fatalf("login exited %d:\n%s", code, out)
	}
	raw, err := os.ReadFile(filepath.Join(config, "backplane", "credentials.json"))
	if err != nil {
		t.Fatal(err)
	}
	var stored struct{ Server, Token string }
	if err := json.Unmarshal(raw, &stored); err != nil || stored.Server != s.URL || !strings.HasPrefix(stored.Token, "bpt_") {
		t.Fatalf("stored credentials %s (%v)", raw, err)
	}
	danaToken := stored.Token
	// Vic's token comes from his own session through the API.
	vicToken := sessionToken(t, s, "vic", "vic-password-0123", `{"name":"ci","project":"clisrv","role":"viewer"}`)
	as := func(token string) []string {
		return []string{"XDG_CONFIG_HOME=" + t.TempDir(), "NOMAD_ADDR=http://127.0.0.1:1", "BACKPLANE_SERVER=" + s.URL, "BACKPLANE_TOKEN=" + token}
	}

	code, out = runCLI(t, as(danaToken), "", "deploy", "-f", file, "--wait", "--timeout", "2m")
	if code != 0 {
		t.Fatalf("deploy --wait with dana's token exited %d:\n%s", code, out)
	}
	t.Logf("deploy --wait with dana's token:\n%s", out)
	for _, want := range []string{"web              global   registered", "healthy 1/1", "deploy clisrv: 1 registered, 0 unchanged, 0 removed, 0 failed, 0 conflicts"} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy output lacks %q:\n%s", want, out)
		}
	}
	if k := running(t, n.Client, n.Region, "clisrv-web"); k != 1 {
		t.Errorf("clisrv-web: %d running allocations, want 1", k)
	}
	var audit struct {
		Events []struct{ Actor, Action, Detail string } `json:"events"`
	}
	if err := json.Unmarshal([]byte(mustAdmin(200, "GET", "/projects/clisrv/audit?limit=100", "")), &audit); err != nil {
		t.Fatal(err)
	}
	var deployedBy, savedBy []string
	for _, e := range audit.Events {
		switch e.Action {
		case "deploy":
			deployedBy = append(deployedBy, e.Actor)
		case "schema.save":
			savedBy = append(savedBy, e.Actor)
		}
	}
	if strings.Join(deployedBy, ",") != "dana" || strings.Join(savedBy, ",") != "dana" {
		t.Errorf("audit: deploys by %v, saves by %v; want dana for both:\n%+v", deployedBy, savedBy, audit.Events)
	}

	code, out = runCLI(t, as(danaToken), "", "status", "-f", file)
	if code != 0 || !strings.Contains(out, "web              global   healthy") {
		t.Errorf("status with dana's token exited %d:\n%s", code, out)
	}

	// Vic may look but not deploy.
	code, out = runCLI(t, as(vicToken), "", "status", "-f", file, "--json")
	if code != 0 || !strings.Contains(out, `"state": "healthy"`) {
		t.Errorf("status with vic's token exited %d:\n%s", code, out)
	}
	code, out = runCLI(t, as(vicToken), "", "deploy", "-f", file, "--wait", "--timeout", "30s")
	if code != 1 || !strings.Contains(out, "deploy: the server refused: your role in clisrv is viewer") || !strings.Contains(out, "deployer") {
		t.Errorf("deploy with vic's token exited %d, want 1 with a message naming the role:\n%s", code, out)
	}
	t.Logf("deploy with vic's token (exit %d):\n%s", code, out)

	// Destroying needs admin.
	code, out = runCLI(t, as(danaToken), "", "destroy", "-f", file)
	if code != 1 || !strings.Contains(out, "destroy: the server refused: your role in clisrv is deployer") {
		t.Errorf("destroy with dana's token exited %d:\n%s", code, out)
	}
	code, out = runCLI(t, as(adminToken), "", "destroy", "-f", file)
	if code != 0 || !strings.Contains(out, "web              global   destroyed") {
		t.Errorf("destroy with the admin token exited %d:\n%s", code, out)
	}

	// Logout revokes dana's token: it no longer works.
	code, out = runCLI(t, base, "", "logout")
	if code != 0 || !strings.Contains(out, "token revoked") {
		t.Errorf("logout exited %d:\n%s", code, out)
	}
	code, out = runCLI(t, as(danaToken), "", "status", "-f", file)
	if code != 1 || !strings.Contains(out, "status: not signed in to "+s.URL) {
		t.Errorf("status with a revoked token exited %d:\n%s", code, out)
	}

	for _, secret := range []string{danaToken, vicToken, adminToken, "dana-password-0123", "vic-password-0123"} {
		if strings.Contains(s.out.String(), secret) {
			t.Errorf("the serve log holds a token or password")
		}
	}
}

// sessionToken signs a user in through the API and creates a token with
// the session (cookie and CSRF token).
func sessionToken(t *testing.T, s *served, name, password, tokenRequest string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	post := func(path, body, csrf string) (int, map[string]any) {
		req, _ := http.NewRequest("POST", s.URL+"/api/v1"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	code, m := post("/auth/login", `{"name":"`+name+`","password":"`+password+`"}`, "")
	csrf, _ := m["csrf_token"].(string)
	if code != 200 || csrf == "" {
		t.Fatalf("sign in as %s: %d %v", name, code, m)
	}
	code, m = post("/tokens", tokenRequest, csrf)
	token, _ := m["token"].(string)
	if code != 201 || token == "" {
		t.Fatalf("create a token as %s: %d %v", name, code, m)
	}
	if code, _ := post("/auth/logout", "", csrf); code != 204 {
		t.Errorf("sign out %s: %d", name, code)
	}
	return token
}
