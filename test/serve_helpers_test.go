package test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/test/agent"
)

// testAdminToken is the bootstrap admin token every served process gets:
// the suites call the API with it, as CI would.
const testAdminToken = "suite-admin-token-0123456789abcdef"

// served is a running `backplane serve`.
type served struct {
	URL  string
	out  *bytes.Buffer
	data string // its SQLite folder
	pid  int
	// secrets are the passwords and tokens the suite used against it; none
	// may show in its output or its database (checked at cleanup).
	secretsMu sync.Mutex
	secrets   []string
}

// Secret records a value the server must never print or store in clear.
func (s *served) Secret(v string) {
	s.secretsMu.Lock()
	defer s.secretsMu.Unlock()
	s.secrets = append(s.secrets, v)
}

// checkLeaks looks for every recorded secret in the process's output and
// its database files, once it has stopped.
func (s *served) checkLeaks(t testing.TB) {
	s.secretsMu.Lock()
	defer s.secretsMu.Unlock()
	var db []byte
	files, _ := filepath.Glob(filepath.Join(s.data, "*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		db = append(db, b...)
	}
	out := s.out.String()
	for _, v := range s.secrets {
		if strings.Contains(out, v) {
			t.Errorf("serve printed a secret (%.8s…)", v)
		}
		if bytes.Contains(db, []byte(v)) {
			t.Errorf("serve's database holds a secret in clear (%.8s…)", v)
		}
	}
}

// Output is what the process printed so far.
func (s *served) Output() string { return s.out.String() }

// serve starts `backplane serve` on a free loopback port with its data in
// a temp folder and the bootstrap admin token testAdminToken, and stops it
// in t.Cleanup.
func serve(t testing.TB, env ...string) *served {
	t.Helper()
	port := agent.FreePorts(t, 1)[0]
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	data := t.TempDir()
	cmd := exec.Command(backplane(t), "serve", "--addr", addr, "--data", data)
	cmd.Env = append(append(os.Environ(), "BACKPLANE_ADMIN_TOKEN="+testAdminToken, "BACKPLANE_ADMIN_TOKEN_FILE=", "BACKPLANE_PUBLIC_URL="), env...)
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &served{URL: "http://" + addr, out: out, data: data, pid: cmd.Process.Pid}
	s.Secret(testAdminToken)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		s.checkLeaks(t)
		if t.Failed() {
			t.Logf("backplane serve output:\n%s", out.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.URL + "/api/v1/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("backplane serve did not come up:\n%s", out.String())
	return nil
}

// call makes an API request, as the bootstrap admin unless headers carry
// an Authorization of their own.
func (s *served) call(t testing.TB, method, path, body string, headers ...string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+"/api/v1"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(data)
}

// sseLines streams the data lines of events of the given type, read as
// the bootstrap admin.
func sseLines(ctx context.Context, t testing.TB, url, kind string) <-chan string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan string, 256)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "event: ") {
				event = strings.TrimPrefix(line, "event: ")
			} else if strings.HasPrefix(line, "data: ") && event == kind {
				select {
				case out <- strings.TrimPrefix(line, "data: "):
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

// userToken makes the user name (if new, with the password
// "<name>-password-1") a member of project with role, signs in as them
// and creates a token of theirs for the project, all through the API the
// way a person would. It returns the Authorization header value.
func (s *served) userToken(t *testing.T, name, project, role string) string {
	t.Helper()
	s.Secret(name + "-password-1")
	code, _, body := s.call(t, "POST", "/users", fmt.Sprintf(`{"name":%q,"password":%q}`, name, name+"-password-1"), "Content-Type", "application/json")
	if code != 201 && code != 409 {
		t.Fatalf("create user %s: %d %s", name, code, body)
	}
	if code, _, body := s.call(t, "PUT", "/projects/"+project+"/members/"+name, fmt.Sprintf(`{"role":%q}`, role), "Content-Type", "application/json"); code != 200 {
		t.Fatalf("member %s of %s: %d %s", name, project, code, body)
	}
	req, _ := http.NewRequest("POST", s.URL+"/api/v1/auth/login", strings.NewReader(fmt.Sprintf(`{"name":%q,"password":%q}`, name, name+"-password-1")))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var login struct {
		CSRF string `json:"csrf_token"`
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || json.Unmarshal(data, &login) != nil {
		t.Fatalf("sign in as %s: %d %s", name, resp.StatusCode, data)
	}
	var cookie string
	for _, c := range resp.Cookies() {
		if c.Name == "backplane_session" {
			cookie = c.Name + "=" + c.Value
			s.Secret(c.Value)
		}
	}
	code, _, body = s.call(t, "POST", "/tokens", fmt.Sprintf(`{"name":"suite-%d","project":%q,"role":%q}`, time.Now().UnixNano(), project, role),
		"Content-Type", "application/json", "Authorization", "", "Cookie", cookie, "X-CSRF-Token", login.CSRF)
	var tok struct {
		Token string `json:"token"`
	}
	if code != 201 || json.Unmarshal([]byte(body), &tok) != nil {
		t.Fatalf("token for %s: %d %s", name, code, body)
	}
	s.Secret(tok.Token)
	return "Bearer " + tok.Token
}
