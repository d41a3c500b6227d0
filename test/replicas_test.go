package test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/backplane-dev/backplane/store"
	"github.com/backplane-dev/backplane/test/agent"
)

// replicaPostgresEnv names the PostgreSQL server of the replica suite; its
// role must be allowed to create databases (CREATEDB). Each run works in a
// database of its own, dropped at the end, so it never meets the store
// suite's schemas.
const (
	replicaPostgresEnv = "BACKPLANE_TEST_POSTGRES_URL"
	replicaPostgresURL = "postgres://backplane:backplane@127.0.0.1:5432/backplane_test?sslmode=disable"
)

// eventLatencyLimit is how soon an event saved through one replica must
// reach an editor subscribed to another.
const eventLatencyLimit = time.Second

// replicaSchema deploys one tiny raw_exec worker when a real Nomad is there.
const replicaSchema = `version: 1
project: twin
defaults: { driver: raw_exec }
elements:
  - id: worker
    kind: worker
    command: exec sleep 3600
    resources: { cpu: 20, memory: 32 }
`

// freshDatabase creates an empty database on the test PostgreSQL server,
// drops it when the test ends, and returns its URL. It skips the test when
// the server cannot be reached (fails under REQUIRE_AGENTS=1).
func freshDatabase(t *testing.T) string {
	t.Helper()
	base := os.Getenv(replicaPostgresEnv)
	if base == "" {
		base = replicaPostgresURL
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		msg := fmt.Sprintf("PostgreSQL at %s (%s) is not reachable: this suite runs two serve replicas on a real one: %v",
			redactURL(base), replicaPostgresEnv, err)
		if os.Getenv("REQUIRE_AGENTS") == "1" {
			t.Fatal(msg + " (REQUIRE_AGENTS=1)")
		}
		t.Skip(msg)
	}
	defer conn.Close(context.Background())
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "bp_replicas_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s (the role needs CREATEDB): %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", replicaPostgresEnv, err)
	}
	u.Path = "/" + name
	return u.String()
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// waitEvents waits until a replica's /healthz reports its events state.
func waitEvents(t *testing.T, s *served, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	got := ""
	for time.Now().Before(deadline) {
		code, _, body := s.call(t, "GET", "/healthz", "")
		var h struct {
			Events string `json:"events"`
		}
		if code == 200 && json.Unmarshal([]byte(body), &h) == nil {
			if got = h.Events; got == want {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: healthz events = %q after 15s, want %q", s.URL, got, want)
}

// sseEvent is one event of a stream, with when it arrived.
type sseEvent struct {
	kind, data string
	at         time.Time
}

// sseAll streams every event of a project's stream, timestamped on arrival.
func sseAll(ctx context.Context, t *testing.T, url string) <-chan sseEvent {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		resp.Body.Close()
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	out := make(chan sseEvent, 256)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		kind := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				kind = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				select {
				case out <- sseEvent{kind: kind, data: strings.TrimPrefix(line, "data: "), at: time.Now()}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

// nextEvent returns the next event of kind within d, skipping others.
func nextEvent(t *testing.T, events <-chan sseEvent, kind string, d time.Duration) sseEvent {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("event stream ended waiting for a %s event", kind)
			}
			if ev.kind == kind {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s event within %v", kind, d)
		}
	}
}

// TestServeReplicasShareEvents runs two `backplane serve` processes on one
// real PostgreSQL, as behind a load balancer: an editor subscribed to
// replica B sees, within a second, a save made through replica A, and the
// deployments A records. Deploying needs a real Nomad (skipped without
// one); a destroy through A is recorded as a deployment either way (against
// an address where no Nomad listens, it is recorded as failed).
func TestServeReplicasShareEvents(t *testing.T) {
	dsn := freshDatabase(t)
	nomadAddr := fmt.Sprintf("http://127.0.0.1:%d", agent.FreePorts(t, 1)[0]) // nothing listens there
	haveNomad := false
	if _, err := exec.LookPath("nomad"); err == nil {
		nomadAddr, haveNomad = agent.StartNomad(t, agent.NomadOptions{}).Addr, true
	}
	a := serve(t, "BACKPLANE_DATABASE_URL="+dsn, "NOMAD_ADDR="+nomadAddr)
	b := serve(t, "BACKPLANE_DATABASE_URL="+dsn, "NOMAD_ADDR=")
	waitEvents(t, a, "shared")
	waitEvents(t, b, "shared")

	if code, _, body := a.call(t, "POST", "/projects", `{"slug":"twin"}`, "Content-Type", "application/json"); code != 201 {
		t.Fatalf("create through A: %d %s", code, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	onB := sseAll(ctx, t, b.URL+"/api/v1/projects/twin/events")
	// The stream is open once B has written its first line; give B's
	// hub the subscriber before the first save.
	waitSubscribed(t, b, "twin")

	t.Run("RevisionWithinOneSecond", func(t *testing.T) {
		const saves = 10
		alice := a.userToken(t, "alice", "twin", "editor")
		var lat []time.Duration
		_, h, _ := a.call(t, "GET", "/projects/twin/schema", "")
		etag := h.Get("ETag")
		for i := range saves {
			body := replicaSchema + fmt.Sprintf("layout: { worker: { x: %d, y: 0 } }\n", i*10)
			start := time.Now()
			code, h, resp := a.call(t, "PUT", "/projects/twin/schema", body,
				"Content-Type", "application/yaml", "If-Match", etag, "Authorization", alice)
			if code != 200 {
				t.Fatalf("save %d through A: %d %s", i, code, resp)
			}
			etag = h.Get("ETag")
			ev := nextEvent(t, onB, "revision", 5*time.Second)
			var got struct {
				Revision int64  `json:"revision"`
				ETag     string `json:"etag"`
				Author   string `json:"author"`
			}
			if err := json.Unmarshal([]byte(ev.data), &got); err != nil {
				t.Fatalf("revision event %q: %v", ev.data, err)
			}
			if got.ETag != etag || got.Author != "alice" || got.Revision != int64(i+2) {
				t.Fatalf("revision event on B = %+v, want revision %d with A's ETag %s by alice", got, i+2, etag)
			}
			lat = append(lat, ev.at.Sub(start))
		}
		sorted := append([]time.Duration(nil), lat...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
		t.Logf("save through A → revision event on B, %d saves: min %v, median %v, max %v (limit %v)",
			saves, sorted[0], sorted[len(sorted)/2], sorted[len(sorted)-1], eventLatencyLimit)
		for i, l := range lat {
			if l >= eventLatencyLimit {
				t.Errorf("save %d: revision event reached B after %v, want < %v", i, l, eventLatencyLimit)
			}
		}
	})

	t.Run("DeployThroughA", func(t *testing.T) {
		if !haveNomad {
			msg := "nomad not on PATH: deploying needs a real Nomad, so this part is skipped (the destroy below still records a deployment through A)"
			if os.Getenv("REQUIRE_AGENTS") == "1" {
				t.Fatal(msg + " (REQUIRE_AGENTS=1)")
			}
			t.Skip(msg)
		}
		start := time.Now()
		code, _, body := a.call(t, "POST", "/projects/twin/deploy", "", "Authorization", a.userToken(t, "bob", "twin", "deployer"))
		if code != 202 {
			t.Fatalf("deploy through A: %d %s", code, body)
		}
		var resp struct {
			Deployment store.Deployment `json:"deployment"`
		}
		if err := json.Unmarshal([]byte(body), &resp); err != nil {
			t.Fatal(err)
		}
		// B reports the deployment as it reads it: running, then as A
		// finished it (or finished twice, when A was quick).
		for {
			ev := nextEvent(t, onB, "deployment", 10*time.Second)
			var d store.Deployment
			if err := json.Unmarshal([]byte(ev.data), &d); err != nil {
				t.Fatal(err)
			}
			if d.ID != resp.Deployment.ID || d.Action != "deploy" || d.Author != "bob" {
				t.Fatalf("deployment event on B = %+v, want A's deployment %d by bob", d, resp.Deployment.ID)
			}
			if d.Status == resp.Deployment.Status {
				t.Logf("deploy through A → deployment event on B (%s) after %v", d.Status, ev.at.Sub(start))
				break
			}
		}
	})

	t.Run("DestroyThroughA", func(t *testing.T) {
		start := time.Now()
		code, _, body := a.call(t, "POST", "/projects/twin/destroy", `{"purge":true}`,
			"Content-Type", "application/json", "Authorization", a.userToken(t, "carol", "twin", "admin"))
		if code != 200 {
			t.Fatalf("destroy through A: %d %s", code, body)
		}
		// Skip what is left of the deploy above: B re-reads a deployment
		// for each announcement, so a quick deploy can arrive twice as
		// finished.
		var ev sseEvent
		var d store.Deployment
		for d.Action != "destroy" {
			ev = nextEvent(t, onB, "deployment", 5*time.Second)
			if err := json.Unmarshal([]byte(ev.data), &d); err != nil {
				t.Fatal(err)
			}
			if d.Action != "destroy" && d.Action != "deploy" {
				t.Fatalf("deployment event on B = %+v, want carol's destroy", d)
			}
		}
		if d.Author != "carol" || d.Project != "twin" {
			t.Fatalf("deployment event on B = %+v, want carol's destroy", d)
		}
		lat := ev.at.Sub(start)
		t.Logf("destroy through A (%s: %s) → deployment event on B after %v", d.Status, d.Summary, lat)
		if lat >= eventLatencyLimit {
			t.Errorf("deployment event reached B after %v, want < %v", lat, eventLatencyLimit)
		}
	})

	t.Run("DeleteThroughA", func(t *testing.T) {
		if code, _, body := a.call(t, "DELETE", "/projects/twin", "", "Authorization", a.userToken(t, "dave", "twin", "admin")); code != 204 {
			t.Fatalf("delete through A: %d %s", code, body)
		}
		deadline := time.After(5 * time.Second)
		for {
			select {
			case _, ok := <-onB:
				if !ok {
					return // B ended the stream of the deleted project
				}
			case <-deadline:
				t.Fatal("B still streams a project deleted through A")
			}
		}
	})
}

// waitSubscribed waits until a replica counts an open event stream (its
// backplane_event_subscribers gauge).
func waitSubscribed(t *testing.T, s *served, slug string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		_, _, body := s.call(t, "GET", "/metrics", "")
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, "backplane_event_subscribers ") && !strings.HasSuffix(line, " 0") {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never counted a subscriber of %s", s.URL, slug)
}

// TestServeSQLiteEventsStayLocal: on SQLite a replica says its events are
// its own.
func TestServeSQLiteEventsStayLocal(t *testing.T) {
	s := serve(t, "BACKPLANE_DATABASE_URL=")
	waitEvents(t, s, "local")
}
