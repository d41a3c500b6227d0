package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/store"
)

// TestDeletedProjectHistory: deleting a project keeps its audit trail,
// revisions and deployments readable through the API, apart from a new
// project that takes the same slug.
func TestDeletedProjectHistory(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.srv.retention = 90 * 24 * time.Hour
	createProject(t, ts, "shop")
	r := ts.do(t, "PUT", "/projects/shop/schema", strings.NewReader(apiSchema),
		"If-Match", `"1-x"`, "Content-Type", "application/yaml", "Authorization", userToken(t, ts.srv, "alice", "shop", store.RoleEditor))
	if r.Status != 200 {
		t.Fatalf("save: %d %s", r.Status, r.Body)
	}
	if r := ts.do(t, "DELETE", "/projects/shop", nil, "Authorization", userToken(t, ts.srv, "carol", "shop", store.RoleAdmin)); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}

	// The deleted project, with when it goes for good.
	r = ts.do(t, "GET", "/deleted-projects?slug=shop", nil)
	var list struct {
		Projects []struct {
			store.DeletedProject
			ExpiresAt *time.Time `json:"expires_at"`
		} `json:"projects"`
	}
	if err := json.Unmarshal(r.Body, &list); err != nil || r.Status != 200 || len(list.Projects) != 1 {
		t.Fatalf("deleted projects: %d %s (%v)", r.Status, r.Body, err)
	}
	dp := list.Projects[0]
	if dp.Slug != "shop" || dp.Head != 2 || dp.DeletedBy != "carol" || dp.ExpiresAt == nil ||
		!dp.ExpiresAt.Equal(dp.DeletedAt.Add(90*24*time.Hour)) {
		t.Errorf("deleted project = %+v, expires %v; want shop at head 2, deleted by carol, expiring 90 days after", dp.DeletedProject, dp.ExpiresAt)
	}
	id := jsonNumber(dp.ID)
	if r := ts.do(t, "GET", "/deleted-projects/"+id, nil); r.Status != 200 || !strings.Contains(string(r.Body), `"deleted_by":"carol"`) {
		t.Errorf("get deleted project: %d %s", r.Status, r.Body)
	}

	// Its revisions and deployments.
	r = ts.do(t, "GET", "/deleted-projects/"+id+"/revisions", nil)
	if r.Status != 200 || strings.Count(string(r.Body), `"number"`) != 2 || strings.Contains(string(r.Body), "yaml") {
		t.Errorf("deleted revisions: %d %s", r.Status, r.Body)
	}
	r = ts.do(t, "GET", "/deleted-projects/"+id+"/revisions/2", nil)
	if r.Status != 200 || r.json(t)["author"] != "alice" || !strings.Contains(r.json(t)["yaml"].(string), "python3 -m http.server") {
		t.Errorf("deleted revision 2: %d %s", r.Status, r.Body)
	}
	if r := ts.do(t, "GET", "/deleted-projects/"+id+"/deployments", nil); r.Status != 200 || string(r.Body) != `{"deployments":[]}` {
		t.Errorf("deleted deployments: %d %s", r.Status, r.Body)
	}

	// A new project of the same slug starts from scratch...
	createProject(t, ts, "shop")
	r = ts.do(t, "GET", "/projects/shop/revisions", nil)
	if r.Status != 200 || strings.Count(string(r.Body), `"number"`) != 1 {
		t.Errorf("revisions of the new shop: %d %s", r.Status, r.Body)
	}
	// ...and the slug's audit trail covers both, telling them apart.
	r = ts.do(t, "GET", "/audit?project=shop", nil)
	var audit struct {
		Events []store.AuditEvent `json:"events"`
	}
	if err := json.Unmarshal(r.Body, &audit); err != nil || r.Status != 200 {
		t.Fatalf("audit: %d %s (%v)", r.Status, r.Body, err)
	}
	var got []string
	for _, e := range audit.Events {
		s := e.Action + " by " + e.Actor
		if e.DeletedProject != 0 {
			s += " (deleted " + jsonNumber(e.DeletedProject) + ")"
		}
		got = append(got, s)
	}
	want := []string{
		"project.create by admin",
		"project.delete by carol (deleted " + id + ")",
		"schema.save by alice (deleted " + id + ")",
		"project.create by admin (deleted " + id + ")",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit of shop:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if r := ts.do(t, "GET", "/audit", nil); r.Status != 200 || strings.Count(string(r.Body), `"action"`) != 4 {
		t.Errorf("whole audit log: %d %s", r.Status, r.Body)
	}

	for _, c := range []struct {
		path string
		code int
	}{
		{"/audit?project=never", 404},
		{"/deleted-projects/999", 404},
		{"/deleted-projects/999/revisions", 404},
		{"/deleted-projects/" + id + "/revisions/9", 404},
		{"/deleted-projects/abc", 400},
		{"/deleted-projects/" + id + "/revisions/0", 400},
	} {
		if r := ts.do(t, "GET", c.path, nil); r.Status != c.code {
			t.Errorf("GET %s: %d %s, want %d", c.path, r.Status, r.Body, c.code)
		}
	}
	if r := ts.do(t, "GET", "/deleted-projects?slug=blog", nil); r.Status != 200 || string(r.Body) != `{"projects":[]}` {
		t.Errorf("deleted projects of a slug never deleted: %d %s", r.Status, r.Body)
	}
}

// TestDeletedProjectKeptForever: without a retention period the API says
// the history does not expire.
func TestDeletedProjectKeptForever(t *testing.T) {
	ts := newTestServer(t, nil)
	createProject(t, ts, "shop")
	if r := ts.do(t, "DELETE", "/projects/shop", nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	r := ts.do(t, "GET", "/deleted-projects", nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"expires_at":null`) {
		t.Errorf("deleted projects: %d %s, want expires_at null", r.Status, r.Body)
	}
}

func jsonNumber(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
