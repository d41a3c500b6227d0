package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/store"
	"github.com/backplane-dev/backplane/templates"
)

// secretsFake is a cluster with Vault, for the secrets routes.
type secretsFake struct {
	*fakeCluster
	mu  sync.Mutex
	set map[string][]byte
}

func (f *secretsFake) HasVault() bool { return true }
func (f *secretsFake) SetSecret(ctx context.Context, project, element, name string, value []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.set[project+"/"+element+"/"+name] = value
	return 1, nil
}
func (f *secretsFake) Secrets(ctx context.Context, project, element string) ([]jobs.SecretInfo, error) {
	return []jobs.SecretInfo{{Name: "STRIPE_KEY", Version: 1}}, nil
}

// authServer is a test server whose log and SQLite file the leak check
// reads, with the project shop holding apiSchema.
type authServer struct {
	*testServer
	logs   *lockedBuffer
	dbFile string
	fakeAM *fakeAM
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newAuthServer(t *testing.T) *authServer {
	t.Helper()
	dbFile := filepath.Join(t.TempDir(), "backplane.db")
	st, err := store.Open(context.Background(), dbFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg, err := templates.NewBuiltinRegistry()
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	cluster := &secretsFake{fakeCluster: newFakeCluster(), set: map[string][]byte{}}
	fam, amc := newFakeAM(t)
	srv := New(Config{Store: st, Registry: reg, Cluster: cluster, Version: "test", PublicURL: "http://backplane.test",
		Loki: emptyLoki(t), Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Alerts: AlertsConfig{Client: amc}, Autodeploy: AutodeployConfig{Sealer: testSealer(t)}})
	bootstrap(t, srv)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { srv.Close(); ts.Close() })
	as := &authServer{testServer: &testServer{Server: ts, srv: srv}, logs: logs, dbFile: dbFile, fakeAM: fam}
	fam.addSilence("sil-1", "shop", "api")
	createProject(t, as.testServer, "shop")
	r := as.do(t, "PUT", "/projects/shop/schema", strings.NewReader(strings.Replace(apiSchema, "port: 8080 }", "port: 8080, secrets: [STRIPE_KEY] }", 1)),
		"If-Match", "*", "Content-Type", "application/yaml")
	if r.Status != 200 {
		t.Fatalf("save: %d %s", r.Status, r.Body)
	}
	createProject(t, as.testServer, "other")
	if _, err := st.CreateBuild(context.Background(), store.Build{Project: "shop", Element: "api", SHA: strings.Repeat("a", 40),
		Status: store.BuildFailed, JobID: "shop-api-build-aaaaaaa", LogTail: "npm ERR! missing script: build"}); err != nil {
		t.Fatal(err)
	}
	return as
}

// sample is a request that succeeds for a caller allowed on the route.
type sample struct {
	path    string // with parameters filled
	project string // the project whose roles the callers get (default shop)
	body    string
	headers []string
	stream  bool // an event stream: only the status line is read
}

// routeSamples has one sample for every route of the table; a route
// without one fails TestRouteTable, so every new route is checked.
func routeSamples(userID int64) map[string]sample {
	return map[string]sample{
		"GET /healthz":                            {path: "/healthz"},
		"GET /metrics":                            {path: "/metrics"},
		"POST /auth/login":                        {path: "/auth/login", body: `{"name":"nobody","password":"x"}`},
		"POST /auth/link":                         {path: "/auth/link", body: `{"code":"nope"}`},
		"POST /auth/logout":                       {path: "/auth/logout"},
		"GET /auth/me":                            {path: "/auth/me"},
		"PUT /auth/password":                      {path: "/auth/password", body: `{"current_password":"{name}-password","password":"a-new-password-1"}`},
		"GET /kinds":                              {path: "/kinds"},
		"GET /tokens":                             {path: "/tokens"},
		"POST /tokens":                            {path: "/tokens", body: `{"name":"t-{n}","project":"shop","role":"viewer"}`},
		"DELETE /tokens/:id":                      {path: "/tokens/{token}"},
		"GET /users":                              {path: "/users"},
		"POST /users":                             {path: "/users", body: `{"name":"new-{n}"}`},
		"PATCH /users/:id":                        {path: fmt.Sprintf("/users/%d", userID), body: `{"disabled":false}`},
		"GET /projects":                           {path: "/projects"},
		"POST /projects":                          {path: "/projects", body: `{"slug":"p-{n}"}`},
		"POST /import/compose":                    {path: "/import/compose", body: `{"project":"c-{n}","files":[{"name":"docker-compose.yml","content":"services:\n  web:\n    image: nginx:1.27\n    ports: [\"8080:80\"]\n"}]}`},
		"GET /projects/:p":                        {path: "/projects/shop"},
		"PATCH /projects/:p":                      {path: "/projects/shop", body: `{"name":"Shop"}`},
		"DELETE /projects/:p":                     {path: "/projects/doomed", project: "doomed"},
		"GET /projects/:p/schema":                 {path: "/projects/shop/schema"},
		"PUT /projects/:p/schema":                 {path: "/projects/shop/schema", body: apiSchema, headers: []string{"If-Match", "*", "Content-Type", "application/yaml"}},
		"GET /projects/:p/revisions":              {path: "/projects/shop/revisions"},
		"GET /projects/:p/revisions/:n":           {path: "/projects/shop/revisions/1"},
		"GET /projects/:p/revisions/:n/diff":      {path: "/projects/shop/revisions/2/diff"},
		"POST /projects/:p/validate":              {path: "/projects/shop/validate", body: apiSchema, headers: []string{"Content-Type", "application/yaml"}},
		"POST /projects/:p/render":                {path: "/projects/shop/render"},
		"GET /projects/:p/status":                 {path: "/projects/shop/status"},
		"GET /projects/:p/deployments":            {path: "/projects/shop/deployments"},
		"GET /projects/:p/members":                {path: "/projects/shop/members"},
		"PUT /projects/:p/members/:name":          {path: "/projects/shop/members/member-x", body: `{"role":"viewer"}`},
		"DELETE /projects/:p/members/:name":       {path: "/projects/shop/members/member-y"},
		"GET /projects/:p/audit":                  {path: "/projects/shop/audit"},
		"GET /projects/:p/secrets/:element":       {path: "/projects/shop/secrets/api"},
		"PUT /projects/:p/secrets/:element/:name": {path: "/projects/shop/secrets/api/STRIPE_KEY", body: "sk-value-{n}", headers: []string{"Content-Type", "text/plain"}},
		"POST /projects/:p/plan":                  {path: "/projects/shop/plan"},
		"POST /projects/:p/deploy":                {path: "/projects/shop/deploy"},
		"POST /projects/:p/rollback":              {path: "/projects/shop/rollback", body: `{"element":"api"}`},
		"POST /projects/:p/destroy":               {path: "/projects/shop/destroy", body: `{"elements":["worker"]}`},
		"GET /projects/:p/events":                 {path: "/projects/shop/events", stream: true},
		"GET /projects/:p/logs":                   {path: "/projects/shop/logs?q=timeout"},
		"GET /projects/:p/logs/tail":              {path: "/projects/shop/logs/tail", stream: true},
		"GET /projects/:p/hooks":                  {path: "/projects/shop/hooks"},
		"POST /projects/:p/hooks/rotate":          {path: "/projects/shop/hooks/rotate"},
		"GET /projects/:p/commits":                {path: "/projects/shop/commits"},
		"GET /projects/:p/builds":                 {path: "/projects/shop/builds?element=api"},
		"GET /projects/:p/builds/:id":             {path: "/projects/shop/builds/1"},
		"GET /projects/:p/builds/:id/log":         {path: "/projects/shop/builds/1/log", stream: true},
		"GET /projects/:p/metrics":                {path: "/projects/shop/metrics?element=api&range=15m"},
		"GET /projects/:p/metrics/now":            {path: "/projects/shop/metrics/now"},
		"GET /projects/:p/alerts":                 {path: "/projects/shop/alerts"},
		"GET /projects/:p/silences":               {path: "/projects/shop/silences"},
		"POST /projects/:p/silences":              {path: "/projects/shop/silences", body: `{"element":"api","duration":"1h","comment":"maintenance"}`},
		"DELETE /projects/:p/silences/:id":        {path: "/projects/shop/silences/sil-1"},
		"GET /audit":                              {path: "/audit"},
		"GET /deleted-projects":                   {path: "/deleted-projects"},
		"GET /deleted-projects/:id":               {path: "/deleted-projects/{deleted}"},
		"GET /deleted-projects/:id/revisions":     {path: "/deleted-projects/{deleted}/revisions"},
		"GET /deleted-projects/:id/revisions/:n":  {path: "/deleted-projects/{deleted}/revisions/1"},
		"GET /deleted-projects/:id/deployments":   {path: "/deleted-projects/{deleted}/deployments"},
	}
}

// call makes one request with the given Authorization (or none).
func (as *authServer) call(t *testing.T, method string, smp sample, auth string, n int, name string) (int, string) {
	t.Helper()
	path := strings.ReplaceAll(smp.path, "{deleted}", "1")
	if strings.Contains(path, "{token}") && name != "" {
		u, _, _ := as.srv.store.UserByName(context.Background(), name)
		var id int64
		if u != nil {
			if ts, _ := as.srv.store.ListTokens(context.Background(), u.ID); len(ts) > 0 {
				id = ts[0].ID
			}
		}
		path = strings.ReplaceAll(path, "{token}", fmt.Sprint(id))
	}
	path = strings.ReplaceAll(path, "{token}", "1")
	body := strings.NewReplacer("{n}", fmt.Sprint(n), "{name}", name).Replace(smp.body)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, as.URL+"/api/v1"+path, strings.NewReader(body))
	if smp.body != "" && len(smp.headers) == 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(smp.headers); i += 2 {
		req.Header.Set(smp.headers[i], smp.headers[i+1])
	}
	if auth == "" {
		req.Header.Set("X-Test-Anonymous", "1")
	} else {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if smp.stream {
		return resp.StatusCode, ""
	}
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// TestRouteTable calls every route of the table as anonymous, as a caller
// whose role is too low, as one with the right role, and with a token for
// another project: 401, 403, 2xx and 404.
func TestRouteTable(t *testing.T) {
	as := newAuthServer(t)
	ctx := context.Background()
	// A deleted project for the deleted-projects routes.
	createProject(t, as.testServer, "gone")
	if r := as.do(t, "DELETE", "/projects/gone", nil); r.Status != 204 {
		t.Fatalf("delete: %d", r.Status)
	}
	// Members the member routes change.
	for _, n := range []string{"member-x", "member-y"} {
		userToken(t, as.srv, n, "shop", store.RoleViewer)
	}
	// A second revision for the diff route.
	if r := as.do(t, "PUT", "/projects/shop/schema", strings.NewReader(strings.Replace(apiSchema, "sleep 100", "sleep 101", 1)),
		"If-Match", "*", "Content-Type", "application/yaml"); r.Status != 200 {
		t.Fatalf("save: %d", r.Status)
	}

	table := as.srv.table()
	target, _ := as.srv.store.CreateUser(ctx, store.NewUser{Name: "target"})
	samples := routeSamples(target.ID)
	createProject(t, as.testServer, "doomed")
	n := 0
	for _, rt := range table {
		key := rt.method + " " + rt.path
		smp, ok := samples[key]
		if !ok {
			t.Errorf("%s has no sample request in routeSamples: add one so its rule is checked", key)
			continue
		}
		t.Run(strings.ReplaceAll(key, "/", "_"), func(t *testing.T) {
			n++
			// Who is too low, who is right, who holds another project's
			// token, per rule.
			var low, right, other string
			var rightName string
			proj := smp.project
			if proj == "" {
				proj = "shop"
			}
			switch rt.rule.access {
			case public:
			case signedIn:
				rightName = fmt.Sprintf("user%d", n)
				right = userToken(t, as.srv, rightName, proj, store.RoleViewer)
			case serverAdmin:
				low = userToken(t, as.srv, fmt.Sprintf("padmin%d", n), proj, store.RoleAdmin)
				rightName = fmt.Sprintf("sadmin%d", n)
				u, err := as.srv.store.CreateUser(ctx, store.NewUser{Name: rightName, ServerAdmin: true, PasswordHash: hashPassword(rightName + "-password")})
				if err != nil {
					t.Fatal(err)
				}
				tok, prefix := newToken()
				if _, err := as.srv.store.CreateToken(ctx, store.NewToken{UserID: u.ID, Name: "t", Hash: hashSecret(tok), Prefix: prefix, Role: store.RoleAdmin}); err != nil {
					t.Fatal(err)
				}
				right = "Bearer " + tok
			case project:
				i := slices.Index(store.Roles, rt.rule.role)
				if i > 0 {
					low = userToken(t, as.srv, fmt.Sprintf("low%d", n), proj, store.Roles[i-1])
				}
				rightName = fmt.Sprintf("right%d", n)
				right = userToken(t, as.srv, rightName, proj, rt.rule.role)
				// An admin of the project, with a token for "other".
				otherName := fmt.Sprintf("other%d", n)
				userToken(t, as.srv, otherName, proj, store.RoleAdmin)
				other = userToken(t, as.srv, otherName, "other", store.RoleAdmin)
			}
			if rt.rule.access != public {
				if code, body := as.call(t, rt.method, smp, "", n, ""); code != http.StatusUnauthorized {
					t.Errorf("anonymous: %d %s, want 401", code, body)
				}
			}
			if low != "" {
				if code, body := as.call(t, rt.method, smp, low, n, ""); code != http.StatusForbidden {
					t.Errorf("role too low: %d %s, want 403", code, body)
				}
			}
			if other != "" {
				if code, body := as.call(t, rt.method, smp, other, n, ""); code != http.StatusNotFound {
					t.Errorf("token for another project: %d %s, want 404", code, body)
				}
			}
			wantOK := rt.rule.access != public || !strings.HasPrefix(rt.path, "/auth/")
			if code, body := as.call(t, rt.method, smp, right, n, rightName); wantOK && (code < 200 || code > 299) {
				t.Errorf("with the right role (%s): %d %s, want 2xx", rt.rule, code, body)
			}
		})
	}
}

// TestNoRouteEditsTheAuditLog: the log is append-only.
func TestNoRouteEditsTheAuditLog(t *testing.T) {
	as := newAuthServer(t)
	for _, rt := range as.srv.table() {
		if strings.Contains(rt.path, "audit") && rt.method != http.MethodGet {
			t.Errorf("%s %s changes the audit log", rt.method, rt.path)
		}
	}
}

// browser is a client with a cookie jar and no token, like the editor.
type browser struct {
	t    *testing.T
	as   *authServer
	c    *http.Client
	csrf string
}

func newBrowser(t *testing.T, as *authServer) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, as: as, c: &http.Client{Jar: jar, Transport: http.DefaultTransport.(adminTransport).base}}
}

func (b *browser) do(method, path, body string, headers ...string) (int, map[string]any) {
	b.t.Helper()
	req, _ := http.NewRequest(method, b.as.URL+"/api/v1"+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &m)
	return resp.StatusCode, m
}

func (b *browser) login(name, password string) int {
	code, m := b.do("POST", "/auth/login", fmt.Sprintf(`{"name":%q,"password":%q}`, name, password))
	if code == 200 {
		b.csrf, _ = m["csrf_token"].(string)
	}
	return code
}

func (b *browser) sessionCookie() string {
	u, _ := http.NewRequest("GET", b.as.URL, nil)
	for _, c := range b.c.Jar.Cookies(u.URL) {
		if c.Name == SessionCookie {
			return c.Value
		}
	}
	return ""
}

func TestSessionsAndCSRF(t *testing.T) {
	as := newAuthServer(t)
	userToken(t, as.srv, "alice", "shop", store.RoleEditor) // password alice-password
	b := newBrowser(t, as)

	// Fixation: a cookie planted before sign-in is never the session.
	u, _ := http.NewRequest("GET", as.URL, nil)
	b.c.Jar.SetCookies(u.URL, []*http.Cookie{{Name: SessionCookie, Value: "planted-by-an-attacker", Path: "/"}})
	if code := b.login("alice", "alice-password"); code != 200 {
		t.Fatalf("sign-in: %d", code)
	}
	first := b.sessionCookie()
	if first == "" || first == "planted-by-an-attacker" {
		t.Fatalf("session cookie after sign-in = %q", first)
	}
	if code, m := b.do("GET", "/auth/me", ""); code != 200 || m["auth"] != "session" || m["csrf_token"] != b.csrf {
		t.Fatalf("me: %d %v", code, m)
	}
	// A second sign-in gets another session ID, and the first one ends.
	if code := b.login("alice", "alice-password"); code != 200 || b.sessionCookie() == first {
		t.Fatalf("second sign-in kept the session ID")
	}
	stale := newBrowser(t, as)
	stale.c.Jar.SetCookies(u.URL, []*http.Cookie{{Name: SessionCookie, Value: first, Path: "/"}})
	if code, _ := stale.do("GET", "/auth/me", ""); code != 401 {
		t.Errorf("the replaced session still works: %d", code)
	}

	// CSRF: a change without the token, or with a wrong one, is refused.
	save := func(headers ...string) int {
		code, _ := b.do("PATCH", "/projects/shop", `{"name":"Renamed"}`, headers...)
		return code
	}
	userToken(t, as.srv, "alice", "shop", store.RoleAdmin)
	if code := save(); code != 403 {
		t.Errorf("change without X-CSRF-Token: %d, want 403", code)
	}
	if code := save("X-CSRF-Token", "wrong"); code != 403 {
		t.Errorf("change with a wrong X-CSRF-Token: %d, want 403", code)
	}
	if code := save("X-CSRF-Token", b.csrf); code != 200 {
		t.Errorf("change with the CSRF token: %d, want 200", code)
	}
	// Reads need no CSRF token.
	if code, _ := b.do("GET", "/projects/shop/schema", ""); code != 200 {
		t.Errorf("read: %d", code)
	}

	// Sign-out ends the session on the server, not just in the browser.
	cookie := b.sessionCookie()
	if code, _ := b.do("POST", "/auth/logout", "", "X-CSRF-Token", b.csrf); code != 204 {
		t.Fatalf("sign-out: %d", code)
	}
	replay := newBrowser(t, as)
	replay.c.Jar.SetCookies(u.URL, []*http.Cookie{{Name: SessionCookie, Value: cookie, Path: "/"}})
	if code, _ := replay.do("GET", "/auth/me", ""); code != 401 {
		t.Errorf("a signed-out session still works: %d", code)
	}
}

func TestSignInRateLimit(t *testing.T) {
	as := newAuthServer(t)
	userToken(t, as.srv, "bob", "shop", store.RoleViewer)
	b := newBrowser(t, as)
	for i := 0; i < SignInFailsPerAccount; i++ {
		if code := b.login("bob", "wrong"); code != 401 {
			t.Fatalf("failure %d: %d, want 401", i, code)
		}
	}
	// Locked: even the right password waits, with a clear message.
	code, m := b.do("POST", "/auth/login", `{"name":"bob","password":"bob-password"}`)
	msg, _ := m["error"].(map[string]any)["message"].(string)
	if code != 429 || !strings.Contains(msg, "too many failed sign-ins for this account") {
		t.Fatalf("locked account: %d %v", code, m)
	}
	// Another account from the same address is not locked yet.
	userToken(t, as.srv, "carol", "shop", store.RoleViewer)
	if code := b.login("carol", "carol-password"); code != 200 {
		t.Errorf("another account: %d", code)
	}
	// The address limit: many names, one address.
	for i := 0; i < SignInFailsPerAddress; i++ {
		b.login(fmt.Sprintf("guess%d", i), "x")
	}
	code, m = b.do("POST", "/auth/login", `{"name":"carol","password":"carol-password"}`)
	msg, _ = m["error"].(map[string]any)["message"].(string)
	if code != 429 || !strings.Contains(msg, "for this address") {
		t.Errorf("locked address: %d %v", code, m)
	}
	// Failures are audited, without the password.
	r := as.do(t, "GET", "/audit", nil)
	if !strings.Contains(string(r.Body), "auth.login_failed") || strings.Contains(string(r.Body), "wrong\"") {
		t.Errorf("audit of failures: %s", r.Body)
	}
}

func TestSignInLimiterWindow(t *testing.T) {
	l := newSignInLimiter()
	now := time.Unix(1_700_000_000, 0)
	l.now = func() time.Time { return now }
	for range SignInFailsPerAccount {
		l.failed("dan", "10.0.0.1")
	}
	if d, who := l.blocked("dan", "10.0.0.2"); who != "account" || d != SignInWindow {
		t.Fatalf("blocked = %s %s", d, who)
	}
	now = now.Add(SignInWindow)
	if d, _ := l.blocked("dan", "10.0.0.2"); d != 0 {
		t.Errorf("still blocked after the window: %s", d)
	}
	l.failed("dan", "10.0.0.1")
	l.succeeded("dan")
	if d, _ := l.blocked("dan", "10.0.0.1"); d != 0 {
		t.Errorf("blocked after a success: %s", d)
	}
}

func TestTokens(t *testing.T) {
	as := newAuthServer(t)
	dana := userToken(t, as.srv, "dana", "shop", store.RoleDeployer)
	// A token cannot outrank its maker.
	r := as.do(t, "POST", "/tokens", strings.NewReader(`{"name":"too-high","project":"shop","role":"admin"}`), "Authorization", dana, "Content-Type", "application/json")
	if r.Status != 403 {
		t.Errorf("token above the user's role: %d %s", r.Status, r.Body)
	}
	r = as.do(t, "POST", "/tokens", strings.NewReader(`{"name":"ci","project":"shop","role":"deployer","expires_in":"30d"}`), "Authorization", dana, "Content-Type", "application/json")
	if r.Status != 201 {
		t.Fatalf("create token: %d %s", r.Status, r.Body)
	}
	m := r.json(t)
	tok := m["token"].(string)
	info := m["info"].(map[string]any)
	if !strings.HasPrefix(tok, TokenPrefix) || !strings.HasPrefix(tok, info["prefix"].(string)) || info["expires_at"] == nil {
		t.Fatalf("token %q info %v", tok[:8], info)
	}
	bearer := "Bearer " + tok
	if r := as.do(t, "GET", "/projects/shop/status", nil, "Authorization", bearer); r.Status != 200 {
		t.Errorf("use: %d %s", r.Status, r.Body)
	}
	// The list shows it with its last use, never the token.
	r = as.do(t, "GET", "/tokens", nil, "Authorization", bearer)
	if r.Status != 200 || strings.Contains(string(r.Body), tok) || !strings.Contains(string(r.Body), `"last_used_at":"`) {
		t.Errorf("list: %d %s", r.Status, r.Body)
	}
	// Revoked: refused.
	id := int64(info["id"].(float64))
	if r := as.do(t, "DELETE", fmt.Sprintf("/tokens/%d", id), nil, "Authorization", dana); r.Status != 204 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if r := as.do(t, "GET", "/projects/shop/status", nil, "Authorization", bearer); r.Status != 401 {
		t.Errorf("revoked token: %d %s", r.Status, r.Body)
	}
	// Expired: refused.
	ctx := context.Background()
	u, _, _ := as.srv.store.UserByName(ctx, "dana")
	past := time.Now().Add(-time.Minute).UTC()
	old, prefix := newToken()
	if _, err := as.srv.store.CreateToken(ctx, store.NewToken{UserID: u.ID, Name: "old", Hash: hashSecret(old), Prefix: prefix, Role: store.RoleViewer, ExpiresAt: &past}); err != nil {
		t.Fatal(err)
	}
	if r := as.do(t, "GET", "/projects/shop/status", nil, "Authorization", "Bearer "+old); r.Status != 401 || !strings.Contains(string(r.Body), "expired") {
		t.Errorf("expired token: %d %s", r.Status, r.Body)
	}
}

// TestAuditTrail: each kind of change adds an entry with who and from
// where; the JSON Lines export has them all.
func TestAuditTrail(t *testing.T) {
	as := newAuthServer(t)
	count := func() int {
		r := as.do(t, "GET", "/projects/shop/audit?format=jsonl&limit=500", nil)
		if r.Status != 200 || r.Header.Get("Content-Type") != "application/jsonl" {
			t.Fatalf("audit export: %d %s", r.Status, r.Header.Get("Content-Type"))
		}
		return strings.Count(string(r.Body), "\n")
	}
	steps := []struct {
		action string
		do     func() response
	}{
		{"schema.save", func() response {
			return as.do(t, "PUT", "/projects/shop/schema", strings.NewReader(strings.Replace(apiSchema, "sleep 100", "sleep 7", 1)), "If-Match", "*", "Content-Type", "application/yaml")
		}},
		{"deploy", func() response { return as.do(t, "POST", "/projects/shop/deploy", nil) }},
		{"rollback", func() response {
			return as.do(t, "POST", "/projects/shop/rollback", strings.NewReader(`{"element":"api"}`), "Content-Type", "application/json")
		}},
		{"destroy", func() response {
			return as.do(t, "POST", "/projects/shop/destroy", strings.NewReader(`{"elements":["api"]}`), "Content-Type", "application/json")
		}},
		{"secret.set", func() response {
			return as.do(t, "PUT", "/projects/shop/secrets/api/STRIPE_KEY", strings.NewReader("sk_live_never_logged"), "Content-Type", "text/plain")
		}},
		{"member.set", func() response {
			userToken(t, as.srv, "erin", "", "")
			return as.do(t, "PUT", "/projects/shop/members/erin", strings.NewReader(`{"role":"viewer"}`), "Content-Type", "application/json")
		}},
		{"member.remove", func() response { return as.do(t, "DELETE", "/projects/shop/members/erin", nil) }},
		{"token.create", func() response {
			return as.do(t, "POST", "/tokens", strings.NewReader(`{"name":"ci","project":"shop","role":"viewer"}`), "Content-Type", "application/json")
		}},
		{"project.rename", func() response {
			return as.do(t, "PATCH", "/projects/shop", strings.NewReader(`{"name":"Shop 2"}`), "Content-Type", "application/json")
		}},
	}
	for _, st := range steps {
		before := count()
		if r := st.do(); r.Status >= 300 {
			t.Fatalf("%s: %d %s", st.action, r.Status, r.Body)
		}
		r := as.do(t, "GET", "/projects/shop/audit?limit=1", nil)
		var got struct{ Events []store.AuditEvent }
		_ = json.Unmarshal(r.Body, &got)
		if after := count(); after != before+1 || len(got.Events) != 1 || got.Events[0].Action != st.action ||
			got.Events[0].Actor != "admin" || got.Events[0].Address != "127.0.0.1" {
			t.Errorf("%s: audit went %d → %d, newest %+v", st.action, before, after, got.Events)
		}
	}
}

// TestBootstrapLink: the first start makes the admin and a one-time link
// that signs in once, and a password set through it works.
func TestBootstrapLink(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg, _ := templates.NewBuiltinRegistry()
	srv := New(Config{Store: st, Registry: reg, PublicURL: "http://backplane.test"})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	link, err := srv.Bootstrap(context.Background(), "")
	if err != nil || !strings.HasPrefix(link, "http://backplane.test/sign-in/link#") {
		t.Fatalf("bootstrap link %q %v", link, err)
	}
	if _, err := srv.Bootstrap(context.Background(), "short"); err == nil {
		t.Error("a short admin token was accepted")
	}
	as := &authServer{testServer: &testServer{Server: ts, srv: srv}}
	b := newBrowser(t, as)
	code := link[strings.Index(link, "#")+1:]
	if c, m := b.do("POST", "/auth/link", fmt.Sprintf(`{"code":%q}`, code)); c != 200 {
		t.Fatalf("use link: %d %v", c, m)
	} else {
		b.csrf = m["csrf_token"].(string)
	}
	if c, _ := newBrowser(t, as).do("POST", "/auth/link", fmt.Sprintf(`{"code":%q}`, code)); c != 410 {
		t.Errorf("second use of the link: %d, want 410", c)
	}
	if c, m := b.do("PUT", "/auth/password", `{"password":"short"}`, "X-CSRF-Token", b.csrf); c != 400 {
		t.Errorf("short password: %d %v", c, m)
	}
	if c, m := b.do("PUT", "/auth/password", `{"password":"correct horse battery"}`, "X-CSRF-Token", b.csrf); c != 200 {
		t.Fatalf("set password: %d %v", c, m)
	}
	if again, _ := srv.Bootstrap(context.Background(), ""); again != "" {
		t.Error("bootstrap still prints a link once admin has a password")
	}
	if c := newBrowser(t, as).login(BootstrapAdmin, "correct horse battery"); c != 200 {
		t.Errorf("sign in with the new password: %d", c)
	}
}

// TestSecurityHeaders: the editor and the API carry them.
func TestSecurityHeaders(t *testing.T) {
	as := newAuthServer(t)
	for _, path := range []string{"/", "/api/v1/healthz"} {
		resp, err := http.Get(as.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		if !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") || !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" {
			t.Errorf("%s headers: %v", path, h)
		}
	}
}

// TestNoSecretLeaks runs sign-ins, tokens and a secret through the API,
// then looks for every one of them in the server's log and the store's
// file: none may be there.
func TestNoSecretLeaks(t *testing.T) {
	as := newAuthServer(t)
	secrets := []string{testAdminToken, "frank-password", "sk_live_leakcheck_9f8e7d"}
	userToken(t, as.srv, "frank", "shop", store.RoleAdmin)
	b := newBrowser(t, as)
	b.login("frank", "wrong-password-leakcheck")
	secrets = append(secrets, "wrong-password-leakcheck")
	if b.login("frank", "frank-password") != 200 {
		t.Fatal("sign-in")
	}
	secrets = append(secrets, b.sessionCookie(), b.csrf)
	_, m := b.do("POST", "/tokens", `{"name":"leak","project":"shop","role":"viewer"}`, "X-CSRF-Token", b.csrf)
	tok, _ := m["token"].(string)
	if tok == "" {
		t.Fatalf("token: %v", m)
	}
	secrets = append(secrets, tok)
	if c, _ := b.do("PUT", "/projects/shop/secrets/api/STRIPE_KEY", "sk_live_leakcheck_9f8e7d", "Content-Type", "text/plain", "X-CSRF-Token", b.csrf); c != 200 {
		t.Fatalf("set secret: %d", c)
	}
	as.do(t, "GET", "/projects/shop/status", nil, "Authorization", "Bearer "+tok+"x") // a wrong token is not logged either
	as.srv.Close()
	db, err := os.ReadFile(as.dbFile)
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(as.dbFile + "-wal")
	db = append(db, wal...)
	logs := as.logs.String()
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the server log holds a secret (%.6s…)", s)
		}
		if bytes.Contains(db, []byte(s)) {
			t.Errorf("the store holds a secret in clear (%.6s…)", s)
		}
	}
}

// TestProjectListShowsOnlyYourProjects: the list reveals no project the
// caller has no role in.
func TestProjectListShowsOnlyYourProjects(t *testing.T) {
	as := newAuthServer(t)
	vera := userToken(t, as.srv, "vera", "shop", store.RoleViewer)
	r := as.do(t, "GET", "/projects", nil, "Authorization", vera)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"slug":"shop"`) || strings.Contains(string(r.Body), `"slug":"other"`) {
		t.Errorf("vera's list: %d %s", r.Status, r.Body)
	}
	nobody := userToken(t, as.srv, "nobody", "", "")
	if r := as.do(t, "GET", "/projects", nil, "Authorization", nobody); r.Status != 200 || string(r.Body) != `{"projects":[]}` {
		t.Errorf("a user with no role: %d %s", r.Status, r.Body)
	}
	if r := as.do(t, "GET", "/projects", nil); !strings.Contains(string(r.Body), `"slug":"other"`) {
		t.Errorf("the server admin's list lacks a project: %s", r.Body)
	}
}
