package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/backplane-dev/backplane/autodeploy"
	"github.com/backplane-dev/backplane/store"
	"github.com/backplane-dev/backplane/templates"
)

const hookSchema = `version: 1
project: shop
defaults: { driver: raw_exec }
elements:
  - id: api
    kind: app.python
    source: { repo: "https://git.example.com/acme/shop.git", branch: main, autodeploy: true, paths: [services/api], start: "python3 app.py" }
  - id: web
    kind: app.python
    source: { repo: "https://git.example.com/acme/shop.git", branch: main, autodeploy: true, paths: [services/web], start: "python3 app.py" }
  - id: manual
    kind: app.python
    source: { repo: "https://git.example.com/acme/shop.git", branch: main, start: "python3 app.py" }
`

func hookServer(t *testing.T) (*testServer, store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "backplane.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return hookServerOn(t, st), st
}

// hookServerOn is hookServer on a given store.
func hookServerOn(t *testing.T, st store.Store) *testServer {
	t.Helper()
	reg, err := templates.NewBuiltinRegistry()
	if err != nil {
		t.Fatal(err)
	}
	sealer := testSealer(t)
	// No cluster: queued deploys stay queued, where the test reads them.
	srv := New(Config{Store: st, Registry: reg, Version: "test", PublicURL: "https://bp.example.com", Autodeploy: AutodeployConfig{Sealer: sealer}})
	bootstrap(t, srv)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { srv.Close(); ts.Close() })
	tsv := &testServer{Server: ts, srv: srv}
	createProject(t, tsv, "shop")
	if r := tsv.do(t, "PUT", "/projects/shop/schema", strings.NewReader(hookSchema), "If-Match", "*", "Content-Type", "application/yaml"); r.Status != 200 {
		t.Fatalf("save: %d %s", r.Status, r.Body)
	}
	return tsv
}

func githubPush(after string, files ...string) []byte {
	b, _ := json.Marshal(map[string]any{
		"ref": "refs/heads/main", "before": strings.Repeat("1", 40), "after": after,
		"repository":  map[string]any{"clone_url": "https://git.example.com/acme/shop.git", "html_url": "https://git.example.com/acme/shop"},
		"pusher":      map[string]any{"name": "pat"},
		"head_commit": map[string]any{"id": after, "message": "Fix the thing\n\nlong text", "author": map[string]any{"name": "Pat Doe"}},
		"commits":     []any{map[string]any{"id": after, "added": []string{}, "removed": []string{}, "modified": files}},
	})
	return b
}

func sendHook(t *testing.T, ts *testServer, body []byte, secret, delivery string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", ts.URL+"/hooks/git/shop", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", delivery)
	req.Header.Set("X-Test-Anonymous", "1")
	if secret != "" {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

func TestGitHookQueuesOnlyMatchingElements(t *testing.T) {
	ts, st := hookServer(t)
	r := ts.do(t, "GET", "/projects/shop/hooks", nil)
	var hooks struct{ URL, Secret string }
	if r.Status != 200 || json.Unmarshal(r.Body, &hooks) != nil || hooks.URL != "https://bp.example.com/hooks/git/shop" || len(hooks.Secret) < 32 {
		t.Fatalf("hooks: %d %s", r.Status, r.Body)
	}
	sha := strings.Repeat("a", 40)
	body := githubPush(sha, "services/api/app.py")

	// Bad and missing signatures change nothing.
	for _, secret := range []string{"", "not-the-secret"} {
		if code, out := sendHook(t, ts, body, secret, "d-bad"); code != http.StatusUnauthorized {
			t.Errorf("signature %q: %d %s, want 401", secret, code, out)
		}
	}
	if qs, _ := st.ListQueued(context.Background(), "shop"); len(qs) != 0 {
		t.Fatalf("a bad signature queued %+v", qs)
	}

	code, out := sendHook(t, ts, body, hooks.Secret, "d-1")
	if code != http.StatusAccepted || !strings.Contains(out, `"queued":["api"]`) {
		t.Fatalf("push: %d %s", code, out)
	}
	qs, err := st.ListQueued(context.Background(), "shop")
	if err != nil || len(qs) != 1 || qs[0].Element != "api" || qs[0].SHA != sha || qs[0].Trigger != store.TriggerWebhook ||
		qs[0].Actor != "pat" || qs[0].Author != "Pat Doe" || qs[0].Message != "Fix the thing" {
		t.Fatalf("queued %+v %v", qs, err)
	}
	// A replay of the delivery is ignored.
	if code, out := sendHook(t, ts, githubPush(strings.Repeat("b", 40), "services/web/x"), hooks.Secret, "d-1"); code != http.StatusAccepted || !strings.Contains(out, "replay") {
		t.Errorf("replay: %d %s", code, out)
	}
	// Outside every element's paths: nothing.
	if code, out := sendHook(t, ts, githubPush(strings.Repeat("c", 40), "docs/readme.md"), hooks.Secret, "d-2"); code != http.StatusAccepted || !strings.Contains(out, `"queued":[]`) {
		t.Errorf("outside paths: %d %s", code, out)
	}
	// Rotating the secret makes the old one fail.
	r = ts.do(t, "POST", "/projects/shop/hooks/rotate", nil)
	var rotated struct{ Secret string }
	if r.Status != 200 || json.Unmarshal(r.Body, &rotated) != nil || rotated.Secret == hooks.Secret {
		t.Fatalf("rotate: %d %s", r.Status, r.Body)
	}
	if code, _ := sendHook(t, ts, body, hooks.Secret, "d-3"); code != http.StatusUnauthorized {
		t.Errorf("old secret after rotation: %d", code)
	}
	if code, _ := sendHook(t, ts, body, rotated.Secret, "d-4"); code != http.StatusAccepted {
		t.Errorf("new secret: %d", code)
	}
	// The secret is sealed in the store, never in clear.
	sealed, err := st.HookSecret(context.Background(), "shop")
	if err != nil || strings.Contains(string(sealed), rotated.Secret) {
		t.Errorf("the store holds the secret in clear (%v)", err)
	}
	// An unknown project answers like a bad signature.
	req, _ := http.NewRequest("POST", ts.URL+"/hooks/git/nope", strings.NewReader(string(body)))
	req.Header.Set("X-Test-Anonymous", "1")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unknown project: %v %v", resp.StatusCode, err)
	}
}

func testSealer(t *testing.T) *autodeploy.Sealer {
	t.Helper()
	s, err := autodeploy.NewSealer([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// enqueueFails is a store whose Enqueue fails while fail is set.
type enqueueFails struct {
	store.Store
	fail atomic.Bool
}

func (s *enqueueFails) Enqueue(ctx context.Context, q store.QueuedDeploy) error {
	if s.fail.Load() {
		return errors.New("store: queue a deploy: database is locked")
	}
	return s.Store.Enqueue(ctx, q)
}

// A delivery whose handling failed (the store refused the queue) is
// handled when the sender redelivers it, not taken for a replay.
func TestGitHookRedeliveryAfterAFailure(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "backplane.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fs := &enqueueFails{Store: st}
	ts := hookServerOn(t, fs)
	r := ts.do(t, "GET", "/projects/shop/hooks", nil)
	var hooks struct{ Secret string }
	if r.Status != 200 || json.Unmarshal(r.Body, &hooks) != nil {
		t.Fatalf("hooks: %d %s", r.Status, r.Body)
	}
	sha := strings.Repeat("d", 40)
	body := githubPush(sha, "services/api/app.py")
	fs.fail.Store(true)
	if code, out := sendHook(t, ts, body, hooks.Secret, "d-retry"); code != http.StatusInternalServerError {
		t.Fatalf("with the store failing: %d %s, want 500", code, out)
	}
	fs.fail.Store(false)
	if code, out := sendHook(t, ts, body, hooks.Secret, "d-retry"); code != http.StatusAccepted || !strings.Contains(out, `"queued":["api"]`) {
		t.Fatalf("redelivery: %d %s", code, out)
	}
	if qs, err := st.ListQueued(context.Background(), "shop"); err != nil || len(qs) != 1 || qs[0].SHA != sha {
		t.Fatalf("queued %+v %v", qs, err)
	}
	// Once handled, it is a replay.
	if code, out := sendHook(t, ts, body, hooks.Secret, "d-retry"); code != http.StatusAccepted || !strings.Contains(out, "replay") {
		t.Errorf("second redelivery: %d %s", code, out)
	}
}
