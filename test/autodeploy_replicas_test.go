package test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/test/agent"
)

// replicaLease is the deploy queue's claim lease the replicas run with
// (the least serve takes): a replica that dies holding a claim hands the
// deploy over to another after it.
const replicaLease = 10 * time.Second

// replicaSettle is how long a queued deploy waits for newer pushes.
const replicaSettle = 3 * time.Second

// TestAutodeployTwoReplicas runs two `backplane serve` replicas on one
// real PostgreSQL and one real Nomad, with a real git repository served by
// git daemon. Each replica reaches Nomad through a gate of the test's that
// can hold its job writes. Webhooks of a burst of pushes go alternately to
// both replicas: the element deploys once, the newest commit. One delivery
// sent to both at once is taken as new by exactly one. A replica killed
// while it holds a queued deploy leaves it to the other, which deploys it
// once its claim lapses; one killed right after taking a webhook leaves
// the deploy it queued to the other. Both replicas list the same deployments, and
// Nomad's job versions match them one for one, each pinning a commit other
// than the one before. Last, a deploy held at Nomad for longer than the
// lease by a live replica must not be started again alongside it. The
// replicas run with the shortest lease serve takes (10s) and a 3s settle.
// Skipped without BACKPLANE_TEST_POSTGRES_URL, git or nomad.
func TestAutodeployTwoReplicas(t *testing.T) {
	if os.Getenv(replicaPostgresEnv) == "" {
		requireOrSkip(t, replicaPostgresEnv+" is not set: this suite runs two serve replicas on a real PostgreSQL")
	}
	agent.Require(t, "git")
	agent.Require(t, "nomad")
	dsn := freshDatabase(t)
	gd := agent.StartGitDaemon(t)
	repo := gd.NewRepo(t, "shop")
	sha1 := repo.Commit(t, map[string]string{"api/app.py": commitApp, "api/v": "1"}, "First version", "Ann Author <ann@example.com>")
	n := agent.StartNomad(t, agent.NomadOptions{})

	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	common := []string{"BACKPLANE_DATABASE_URL=" + dsn, "BACKPLANE_SECRET_KEY=" + base64.StdEncoding.EncodeToString(key),
		"NOMAD_REGION=", "NOMAD_TOKEN=", "CONSUL_HTTP_ADDR=", "VAULT_ADDR=", "BACKPLANE_GIT_POLL=0",
		"BACKPLANE_GIT_SETTLE=" + replicaSettle.String(), "BACKPLANE_DEPLOY_LEASE=" + replicaLease.String()}
	gates := []*nomadGate{startNomadGate(t, n.Addr), startNomadGate(t, n.Addr)}
	replicas := []*served{
		serve(t, append(common, "NOMAD_ADDR="+gates[0].URL)...),
		serve(t, append(common, "NOMAD_ADDR="+gates[1].URL)...),
	}
	names := []string{"A", "B"}
	for _, s := range replicas {
		s.Secret(base64.StdEncoding.EncodeToString(key))
		waitEvents(t, s, "shared")
	}
	a, b := replicas[0], replicas[1]

	if code, _, out := a.call(t, "POST", "/projects", `{"slug":"gitp"}`, "Content-Type", "application/json"); code != http.StatusCreated {
		t.Fatalf("create project through A: %d %s", code, out)
	}
	body, _ := json.Marshal(map[string]string{"yaml": fmt.Sprintf(gitSchema, repo.URL)})
	if code, _, out := b.call(t, "POST", "/projects/gitp/deploy", string(body), "Content-Type", "application/json"); code != http.StatusAccepted {
		t.Fatalf("deploy through B: %d %s", code, out)
	}
	waitCommit(t, n, sha1, 2*time.Minute)
	var secret string
	for i, s := range replicas {
		code, _, out := s.call(t, "GET", "/projects/gitp/hooks", "")
		var hooks struct{ URL, Secret string }
		if code != 200 || json.Unmarshal([]byte(out), &hooks) != nil || hooks.Secret == "" {
			t.Fatalf("hooks through %s: %d %s", names[i], code, out)
		}
		if secret != "" && hooks.Secret != secret {
			t.Fatalf("the replicas give different webhook secrets for one project")
		}
		secret = hooks.Secret
		s.Secret(secret)
	}

	// want is the commit of each deploy so far, oldest first: what the
	// webhook deployments and Nomad's job versions must show.
	want := []string{sha1}
	prev := sha1
	// burst pushes count commits, then delivers their webhooks back to
	// back (each to the replica to(i) says, each with its own delivery ID
	// unless last is set: it delivers the last one), and returns the
	// newest commit and when its webhook was delivered.
	burst := func(name string, count int, to func(i int) *served, last func(before, after string) time.Time) (string, time.Time) {
		t.Helper()
		type push struct{ before, after string }
		var pushes []push
		for i := range count {
			sha := repo.Commit(t, map[string]string{"api/v": fmt.Sprintf("%s %d", name, i)}, fmt.Sprintf("%s, push %d", name, i), "Cy <cy@example.com>")
			pushes = append(pushes, push{prev, sha})
			prev = sha
		}
		var at time.Time
		for i, p := range pushes {
			if i == len(pushes)-1 && last != nil {
				at = last(p.before, p.after)
				break
			}
			at = time.Now()
			if code, out := pushHook(t, to(i), secret, repo.URL, p.before, p.after, fmt.Sprintf("%s-%d", name, i), "api/v"); code != http.StatusAccepted || !strings.Contains(out, `"queued":["api"]`) {
				t.Fatalf("%s: webhook %d: %d %s", name, i, code, out)
			}
		}
		return prev, at
	}
	// settled waits for the burst's deploy and checks that it is the only
	// one: one more webhook deployment, of the newest commit, on both
	// replicas, and no other once the queue had time to settle again.
	settled := func(name, newest string, delivered time.Time) {
		t.Helper()
		registered := waitCommit(t, n, newest, 2*time.Minute)
		want = append(want, newest)
		t.Logf("%s: last webhook to job registered with its commit: %s (settle %s); job writes through A %d, through B %d",
			name, registered.Sub(delivered).Round(time.Millisecond), replicaSettle, gates[0].registers.Load(), gates[1].registers.Load())
		time.Sleep(3 * replicaSettle)
		for i, s := range replicas {
			got := webhookDeploys(t, s)
			if len(got) != len(want)-1 {
				t.Fatalf("%s: %s lists %d webhook deployments, want %d (one per burst): %v", name, names[i], len(got), len(want)-1, got)
			}
			for j, d := range got {
				if d.GitSHA != want[j+1] || d.Status != "succeeded" {
					t.Fatalf("%s: %s lists webhook deployment %d as %s, want a succeeded deploy of %s: %v", name, names[i], j, d, want[j+1][:7], got)
				}
			}
		}
	}

	// Six pushes, their webhooks alternately to A and B: one deploy.
	newest, at := burst("alternate", 6, func(i int) *served { return replicas[i%2] }, nil)
	settled("alternate", newest, at)

	// Four pushes; the last one's delivery reaches both replicas at once,
	// as a git host retrying through a load balancer would: exactly one
	// takes it as new, the other as a replay; still one deploy.
	newest, at = burst("redelivered", 4, func(i int) *served { return replicas[(i+1)%2] }, func(before, after string) time.Time {
		var wg sync.WaitGroup
		codes, outs := make([]int, 2), make([]string, 2)
		start := make(chan struct{})
		for i, s := range replicas {
			wg.Go(func() {
				<-start
				codes[i], outs[i] = pushHook(t, s, secret, repo.URL, before, after, "redelivered-both", "api/v")
			})
		}
		at := time.Now()
		close(start)
		wg.Wait()
		accepted, replays := 0, 0
		for i := range replicas {
			switch {
			case codes[i] == http.StatusAccepted && strings.Contains(outs[i], `"queued":["api"]`):
				accepted++
			case codes[i] == http.StatusAccepted && strings.Contains(outs[i], "seen before"):
				replays++
			default:
				t.Errorf("the delivery sent to both, through %s: %d %s", names[i], codes[i], outs[i])
			}
		}
		if accepted != 1 || replays != 1 {
			t.Fatalf("one delivery sent to both replicas: %d took it as new, %d as a replay (A: %s; B: %s), want one each", accepted, replays, outs[0], outs[1])
		}
		return at
	})
	settled("redelivered", newest, at)

	// A replica dies holding a queued deploy: the other deploys it once
	// the claim lapses. Both gates hold job writes, so whichever replica
	// claims the deploy stops at its plan; that one is killed.
	for _, g := range gates {
		g.hold()
	}
	handed := repo.Commit(t, map[string]string{"api/v": "handed over"}, "Handed over", "Dee <dee@example.com>")
	delivered := time.Now()
	if code, out := pushHook(t, a, secret, repo.URL, prev, handed, "handover", "api/v"); code != http.StatusAccepted || !strings.Contains(out, `"queued":["api"]`) {
		t.Fatalf("handover webhook: %d %s", code, out)
	}
	prev = handed
	claimer := -1
	var write string
	select {
	case write = <-gates[0].blocked:
		claimer = 0
	case write = <-gates[1].blocked:
		claimer = 1
	case <-time.After(time.Minute):
		t.Fatalf("no replica tried to deploy %s within a minute of its webhook", handed[:7])
	}
	claimedAt := time.Now()
	survivor := 1 - claimer
	// Its deployment is recorded as running, as both replicas list it.
	waitDeployment(t, replicas[survivor], handed, "running", 30*time.Second)
	if err := syscall.Kill(replicas[claimer].pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s: %v", names[claimer], err)
	}
	killed := time.Now()
	gates[survivor].open()
	registered := waitCommit(t, n, handed, 2*time.Minute)
	want = append(want, handed)
	t.Logf("handover: %s claimed %s %s after its webhook (held at %s), was killed, and %s registered it %s after the kill (lease %s; the webhook was %s before)",
		names[claimer], handed[:7], claimedAt.Sub(delivered).Round(time.Millisecond), write, names[survivor],
		registered.Sub(killed).Round(time.Millisecond), replicaLease, registered.Sub(delivered).Round(time.Millisecond))
	time.Sleep(3 * replicaSettle)
	got := webhookDeploys(t, replicas[survivor])
	var succeeded, stuck []webhookDeploy
	for _, d := range got {
		if d.GitSHA != handed {
			continue
		}
		switch d.Status {
		case "succeeded":
			succeeded = append(succeeded, d)
		case "running":
			stuck = append(stuck, d)
		}
	}
	if len(succeeded) != 1 {
		t.Errorf("%d succeeded webhook deployments of the handed-over %s, want 1: %v", len(succeeded), handed[:7], got)
	}

	// Nomad's versions of the job: one per deploy, each pinning a commit
	// other than the one before, in the order deployed.
	versions, _, _, err := n.Client.Jobs().Versions("gitp-api", false, nil)
	if err != nil {
		t.Fatalf("job versions: %v", err)
	}
	sort.Slice(versions, func(i, j int) bool { return *versions[i].Version < *versions[j].Version })
	var pinned []string
	for i, v := range versions {
		sha := v.Meta["backplane.git_sha"]
		pinned = append(pinned, fmt.Sprintf("v%d %.7s", *v.Version, sha))
		if i > 0 && sha == versions[i-1].Meta["backplane.git_sha"] {
			t.Errorf("job version %d pins the same commit %.7s as version %d", *v.Version, sha, *versions[i-1].Version)
		}
	}
	var wantPinned []string
	for i, sha := range want {
		wantPinned = append(wantPinned, fmt.Sprintf("v%d %.7s", i, sha))
	}
	if strings.Join(pinned, ", ") != strings.Join(wantPinned, ", ") {
		t.Errorf("Nomad's versions of gitp-api: %s; want one per deploy: %s", strings.Join(pinned, ", "), strings.Join(wantPinned, ", "))
	}

	// The deploy the dead replica had started stays "running" in the
	// history, next to the survivor's succeeded one.
	if len(stuck) > 0 {
		t.Errorf("defect: the deployment %s started for %s (ids %v) is still listed as running after %s took the deploy over and finished it; nothing ever ends it",
			names[claimer], handed[:7], ids(stuck), names[survivor])
	}

	// A deploy that outlasts its lease on a live replica (a slow Nomad
	// here; a long build alike) stays that replica's: no other deploy
	// slot, of that replica or another, may start the same deploy
	// alongside it. C replaces the dead replica.
	gates = []*nomadGate{gates[survivor], startNomadGate(t, n.Addr)}
	live := []*served{replicas[survivor], serve(t, append(common, "NOMAD_ADDR="+gates[1].URL)...)}
	liveNames := []string{names[survivor], "C"}
	waitEvents(t, live[1], "shared")
	for _, g := range gates {
		g.hold()
	}
	slow := repo.Commit(t, map[string]string{"api/v": "slow"}, "Slow", "Eve <eve@example.com>")
	if code, out := pushHook(t, live[0], secret, repo.URL, prev, slow, "slow", "api/v"); code != http.StatusAccepted || !strings.Contains(out, `"queued":["api"]`) {
		t.Fatalf("slow webhook: %d %s", code, out)
	}
	claimer = -1
	select {
	case <-gates[0].blocked:
		claimer = 0
	case <-gates[1].blocked:
		claimer = 1
	case <-time.After(time.Minute):
		t.Fatalf("no replica tried to deploy %s within a minute of its webhook", slow[:7])
	}
	held := time.Now()
	// Hold longer than the lease, then let everything through.
	time.Sleep(replicaLease + 2*replicaSettle + 5*time.Second)
	heldFor := time.Since(held)
	again := []int{len(gates[0].blocked), len(gates[1].blocked)}
	for _, g := range gates {
		g.open()
	}
	waitCommit(t, n, slow, 2*time.Minute)
	time.Sleep(3 * replicaSettle)
	var slowDeploys []webhookDeploy
	for _, d := range webhookDeploys(t, live[1-claimer]) {
		if d.GitSHA == slow {
			slowDeploys = append(slowDeploys, d)
		}
	}
	t.Logf("a deploy of %s held %s at %s's Nomad: meanwhile %d more deploys of it tried to plan through %s, %d through %s; its deployments: %v",
		slow[:7], heldFor.Round(time.Second), liveNames[claimer], again[0], liveNames[0], again[1], liveNames[1], slowDeploys)
	if len(slowDeploys) != 1 || slowDeploys[0].Status != "succeeded" {
		var detail []string
		for _, d := range slowDeploys {
			detail = append(detail, fmt.Sprintf("#%d %s: %s", d.ID, d.Status, d.Summary))
		}
		t.Errorf("defect: a deploy that outlasts its claim's lease (%s) is claimed again while %s, alive, is still deploying it: the claim is never renewed, and a lapsed claim goes to the next deploy slot that looks, on that replica or another (%d more tries through %s, %d through %s); %d deployments of %s, want 1:\n  %s",
			replicaLease, liveNames[claimer], again[0], liveNames[0], again[1], liveNames[1], len(slowDeploys), slow[:7], strings.Join(detail, "\n  "))
	}
	prev = slow

	// C takes a webhook and dies at once, its deploy still settling: the
	// queue is in the store, so B deploys it, once, with no lease to wait.
	last := repo.Commit(t, map[string]string{"api/v": "orphaned"}, "Orphaned", "Fay <fay@example.com>")
	delivered = time.Now()
	if code, out := pushHook(t, live[1], secret, repo.URL, prev, last, "orphaned", "api/v"); code != http.StatusAccepted || !strings.Contains(out, `"queued":["api"]`) {
		t.Fatalf("webhook through C: %d %s", code, out)
	}
	if err := syscall.Kill(live[1].pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill C: %v", err)
	}
	registered = waitCommit(t, n, last, 2*time.Minute)
	t.Logf("a webhook through C, killed at once: %s registered its commit %s after the webhook (settle %s)",
		liveNames[0], registered.Sub(delivered).Round(time.Millisecond), replicaSettle)
	time.Sleep(3 * replicaSettle)
	var lastDeploys []webhookDeploy
	for _, d := range webhookDeploys(t, live[0]) {
		if d.GitSHA == last {
			lastDeploys = append(lastDeploys, d)
		}
	}
	if len(lastDeploys) != 1 || lastDeploys[0].Status != "succeeded" {
		t.Errorf("deployments of %s, queued through C before it died: %v, want one succeeded", last[:7], lastDeploys)
	}
}

// webhookDeploy is a deployment started by a webhook, as the API lists it.
type webhookDeploy struct {
	ID      int64  `json:"id"`
	Status  string `json:"status"`
	GitSHA  string `json:"git_sha"`
	Author  string `json:"author"`
	Summary string `json:"summary"`
}

func (d webhookDeploy) String() string {
	return fmt.Sprintf("#%d %.7s %s", d.ID, d.GitSHA, d.Status)
}

func ids(ds []webhookDeploy) []int64 {
	var out []int64
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

// webhookDeploys lists gitp's deployments with the trigger webhook, through
// s, oldest first.
func webhookDeploys(t *testing.T, s *served) []webhookDeploy {
	t.Helper()
	code, _, out := s.call(t, "GET", "/projects/gitp/deployments", "")
	var list struct {
		Deployments []struct {
			webhookDeploy
			Trigger string `json:"trigger"`
		} `json:"deployments"`
	}
	if code != 200 || json.Unmarshal([]byte(out), &list) != nil {
		t.Fatalf("deployments through %s: %d %s", s.URL, code, out)
	}
	var got []webhookDeploy
	for _, d := range list.Deployments {
		if d.Trigger == "webhook" {
			got = append(got, d.webhookDeploy)
		}
	}
	sort.Slice(got, func(i, j int) bool { return got[i].ID < got[j].ID })
	return got
}

// waitDeployment waits until s lists a webhook deployment of sha with
// status.
func waitDeployment(t *testing.T, s *served, sha, status string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var got []webhookDeploy
	for time.Now().Before(deadline) {
		got = webhookDeploys(t, s)
		for _, d := range got {
			if d.GitSHA == sha && d.Status == status {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s lists no %s webhook deployment of %s within %s: %v", s.URL, status, sha[:7], timeout, got)
}

// nomadGate is a replica's way to Nomad: a reverse proxy on a loopback
// port that forwards everything, and can hold job writes (plans and
// registrations) until opened again.
type nomadGate struct {
	URL string
	// blocked receives each held write ("PUT /v1/job/x/plan").
	blocked chan string
	// registers counts the job registrations forwarded.
	registers atomic.Int64

	mu      sync.Mutex
	held    bool
	release chan struct{}
}

func startNomadGate(t *testing.T, target string) *nomadGate {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.FlushInterval = -1 // event streams flow as they come
	// A replica that stops ends its streams: not worth a log line.
	proxy.ErrorLog = log.New(io.Discard, "", 0)
	g := &nomadGate{blocked: make(chan string, 16)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/job") {
			g.mu.Lock()
			held, release := g.held, g.release
			g.mu.Unlock()
			if held {
				select {
				case g.blocked <- r.Method + " " + r.URL.Path:
				default:
				}
				select {
				case <-release:
				case <-r.Context().Done():
					return // the replica went away: nothing reaches Nomad
				}
			}
			if r.URL.Path == "/v1/jobs" {
				g.registers.Add(1)
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		g.open()
		srv.CloseClientConnections()
		srv.Close()
	})
	g.URL = srv.URL
	return g
}

// hold makes job writes wait until open.
func (g *nomadGate) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.held {
		g.held, g.release = true, make(chan struct{})
	}
}

// open lets held and later job writes through.
func (g *nomadGate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held {
		g.held = false
		close(g.release)
	}
}
