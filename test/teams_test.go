package test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestTeamsInBrowser drives sign-in, roles, members, tokens and the audit
// log in a real headless Chromium (web/ui/e2e/teams.e2e.mjs) against two
// real `backplane serve` without a cluster:
//
//   - one with the bootstrap admin token, where the test makes, through the
//     API, a server admin (erin) and a user with no project yet (vera), both
//     with passwords. In the browser erin signs in (after a wrong password,
//     and next to a name that hits the rate limit), creates e2e-team, adds
//     vera as a viewer in the Members panel, reads the audit log and its
//     export, makes, uses and revokes an API token, makes a user with a
//     one-time link, and signs out; vera signs in and finds the canvas
//     read-only, and her PUT of the schema from the page is refused (403);
//   - a fresh one with no admin token, whose first start prints a one-time
//     sign-in link for admin: the browser opens it, sets a password and
//     lands signed in.
//
// Then the test checks what the server recorded. Screenshots go to
// test/output/editor/ (sign-in-*, members-*, audit-*, tokens-*, users-*,
// viewer-*, first-start-*).
func TestTeamsInBrowser(t *testing.T) {
	b := requireBrowser(t)
	s := serve(t)
	env := e2eAdmin(t, s, "erin")
	veraPassword := e2eUser(t, s, "vera", false)

	fresh := serve(t, "BACKPLANE_ADMIN_TOKEN=")
	link := firstStartLink(t, fresh)
	firstPassword := e2ePassword(fresh)

	b.run(t, "teams.e2e.mjs", 5*time.Minute, append(env,
		"BASE_URL="+s.URL,
		"E2E_VIEWER=vera", "E2E_VIEWER_PASSWORD="+veraPassword,
		"FIRST_LINK="+link, "FIRST_PASSWORD="+firstPassword)...)

	// vera is a viewer of e2e-team, added by erin.
	code, _, body := s.call(t, "GET", "/projects/e2e-team/members", "")
	var ms struct {
		Members []struct {
			UserName string `json:"user_name"`
			Role     string `json:"role"`
		} `json:"members"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &ms) != nil || len(ms.Members) != 1 || ms.Members[0].UserName != "vera" || ms.Members[0].Role != "viewer" {
		t.Errorf("members of e2e-team: %d %s, want vera as viewer", code, body)
	}

	// The head is erin's revision 2: vera's PUT changed nothing.
	code, _, body = s.call(t, "GET", "/projects/e2e-team/revisions", "")
	var revs struct {
		Revisions []struct {
			Number int    `json:"number"`
			Author string `json:"author"`
		} `json:"revisions"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &revs) != nil || len(revs.Revisions) != 2 || revs.Revisions[0].Number != 2 || revs.Revisions[0].Author != "erin" {
		t.Errorf("revisions of e2e-team: %d %s, want 2, the head by erin", code, body)
	}

	// The audit trail has erin's changes with her address, and nothing by
	// vera but her sign-in.
	code, _, body = s.call(t, "GET", "/projects/e2e-team/audit", "")
	var audit struct {
		Events []struct {
			Actor, Action, Detail, Address string
		} `json:"events"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &audit) != nil {
		t.Fatalf("audit of e2e-team: %d %s", code, body)
	}
	want := map[string]bool{"project.create": false, "schema.save": false, "member.set": false, "token.create": false}
	for _, e := range audit.Events {
		if e.Actor == "vera" {
			t.Errorf("vera changed e2e-team: %+v", e)
		}
		if _, ok := want[e.Action]; ok && e.Actor == "erin" && e.Address != "" {
			want[e.Action] = true
		}
		if e.Action == "member.set" && e.Detail != "vera: viewer" {
			t.Errorf("member.set detail %q, want %q", e.Detail, "vera: viewer")
		}
	}
	for a, ok := range want {
		if !ok {
			t.Errorf("no %s by erin (with an address) in the audit of e2e-team: %s", a, body)
		}
	}

	// The token erin made in the browser is revoked; walt, made there
	// without a password, is disabled.
	code, _, body = s.call(t, "GET", "/users", "")
	if code != 200 || !regexp.MustCompile(`"name":"walt"[^}]*"has_password":false[^}]*"disabled":true`).MatchString(body) {
		t.Errorf("users: %d %s, want walt without a password and disabled", code, body)
	}

	// First start: admin signs in with the password set through the link,
	// and the link is spent.
	if code, body := postJSON(t, fresh.URL+"/api/v1/auth/login", fmt.Sprintf(`{"name":"admin","password":%q}`, firstPassword)); code != 200 {
		t.Errorf("sign in as admin with the password set through the first-start link: %d %s", code, body)
	}
	_, linkCode, _ := strings.Cut(link, "#")
	if code, body := postJSON(t, fresh.URL+"/api/v1/auth/link", fmt.Sprintf(`{"code":%q}`, linkCode)); code != 410 {
		t.Errorf("the first-start link used again: %d %s, want 410", code, body)
	}
}

// firstStartLink is the one-time sign-in link a serve with an empty store
// and no admin token prints for admin.
func firstStartLink(t *testing.T, s *served) string {
	t.Helper()
	re := regexp.MustCompile(`sign in as admin to set a password: (\S+/sign-in/link#\S+)`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := re.FindStringSubmatch(s.Output()); m != nil {
			if !strings.HasPrefix(m[1], s.URL+"/") {
				t.Fatalf("the first-start link %q is not on the server's address %s", m[1], s.URL)
			}
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve printed no first-start sign-in link:\n%s", s.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// postJSON posts a JSON body with no credentials and returns the status
// and the body.
func postJSON(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}
