package test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/test/agent"
)

const webSchema = `version: 1
project: live
defaults: { driver: raw_exec }
elements:
  - id: web
    kind: app.command
    command: exec python3 -m http.server "$PORT" --bind 127.0.0.1
    port: 8000
    health: { interval: 1s, timeout: 1s, min_healthy_time: 1s }
    resources: { cpu: 50, memory: 64 }
  - id: worker
    kind: worker
    command: echo "web at $WEB_URL"; exec sleep 3600
    resources: { cpu: 20, memory: 32 }
connections:
  - { from: worker, to: web }
`

// TestServeDeployAndLiveStatus runs `backplane serve` against a real Nomad:
// saves a schema through the API, deploys it, and watches the elements'
// lights turn green over the event stream.
func TestServeDeployAndLiveStatus(t *testing.T) {
	n := agent.StartNomad(t, agent.NomadOptions{})
	s := serve(t, "NOMAD_ADDR="+n.Addr)
	if code, _, body := s.call(t, "POST", "/projects", `{"slug":"live","name":"Live"}`, "Content-Type", "application/json"); code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	_, h, _ := s.call(t, "GET", "/projects/live/schema", "")
	if code, _, body := s.call(t, "PUT", "/projects/live/schema", webSchema, "Content-Type", "application/yaml", "If-Match", h.Get("ETag")); code != 200 {
		t.Fatalf("save: %d %s", code, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	statuses := sseLines(ctx, t, s.URL+"/api/v1/projects/live/events", "status")

	code, _, body := s.call(t, "POST", "/projects/live/plan", "")
	if code != 200 || !strings.Contains(body, `"action":"create"`) {
		t.Fatalf("plan: %d %s", code, body)
	}
	code, _, body = s.call(t, "POST", "/projects/live/deploy", "", "Authorization", s.userToken(t, "tester", "live", "deployer"))
	if code != 202 || !strings.Contains(body, `"outcome":"registered"`) {
		t.Fatalf("deploy: %d %s", code, body)
	}
	healthy := map[string]bool{}
	for len(healthy) < 2 {
		select {
		case line, ok := <-statuses:
			if !ok {
				t.Fatalf("event stream ended; healthy so far: %v", healthy)
			}
			var st jobs.Status
			if err := json.Unmarshal([]byte(line), &st); err != nil {
				t.Fatalf("status event %q: %v", line, err)
			}
			if st.State == jobs.StateHealthy {
				healthy[st.Element] = true
			}
		case <-ctx.Done():
			t.Fatalf("elements not healthy over the event stream in time; healthy: %v", healthy)
		}
	}
	code, _, body = s.call(t, "GET", "/projects/live/deployments", "")
	if code != 200 || !strings.Contains(body, `"status":"succeeded"`) || !strings.Contains(body, `"author":"tester"`) {
		t.Fatalf("deployments: %d %s", code, body)
	}
	code, _, body = s.call(t, "GET", "/projects/live/status", "")
	if code != 200 || strings.Count(body, `"state":"healthy"`) != 2 {
		t.Fatalf("status: %d %s", code, body)
	}
}
