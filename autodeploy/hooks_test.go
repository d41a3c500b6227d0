package autodeploy

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// hookTestSecret is a project's webhook secret in these tests.
var hookTestSecret = []byte("3f9d0c2b6a1e4f7a8b5c9d2e1f0a3b4c")

func hookTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "hooks", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hookTestHMAC is the hex HMAC-SHA256 of body with secret.
func hookTestHMAC(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// hookTestHeaders are the headers a provider sends with an event,
// unsigned. sender is github, gitlab, gitea, forgejo or generic.
func hookTestHeaders(sender, event string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	switch sender {
	case "github":
		h.Set("User-Agent", "GitHub-Hookshot/8b0f6d2")
		h.Set("X-GitHub-Event", event)
		h.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
		h.Set("X-GitHub-Hook-ID", "478963150")
	case "gitlab":
		h.Set("User-Agent", "GitLab/17.0.1")
		h.Set("X-Gitlab-Event", event)
		h.Set("X-Gitlab-Event-UUID", "13792a34-cac6-4fda-95a8-c58e00a3954e")
		h.Set("X-Gitlab-Webhook-UUID", "5d6b2a48-8a5d-4a4e-9bba-c8e3ba0a0e67")
		h.Set("X-Gitlab-Instance", "https://gitlab.acme.example")
	case "gitea", "forgejo":
		// As Gitea sends them: its own, Gogs's and GitHub's.
		id := "e3b6a1c4-3a52-4d67-9a6f-0f0c2b7d8e91"
		for _, p := range []string{"X-Gitea-", "X-Gogs-"} {
			h.Set(p+"Event", event)
			h.Set(p+"Event-Type", event)
			h.Set(p+"Delivery", id)
		}
		h.Set("X-GitHub-Event", event)
		h.Set("X-GitHub-Event-Type", event)
		h.Set("X-GitHub-Delivery", id)
		if sender == "forgejo" {
			h.Set("X-Forgejo-Event", event)
			h.Set("X-Forgejo-Event-Type", event)
			h.Set("X-Forgejo-Delivery", id)
		}
	case "generic":
		h.Set("X-Backplane-Event", event)
	}
	return h
}

// hookTestSign signs a request as its provider does.
func hookTestSign(h http.Header, sender string, body, secret []byte) http.Header {
	switch sender {
	case "github":
		h.Set("X-Hub-Signature", "sha1=0000000000000000000000000000000000000000") // ignored
		h.Set("X-Hub-Signature-256", "sha256="+hookTestHMAC(secret, body))
	case "gitlab":
		h.Set("X-Gitlab-Token", string(secret))
	case "gitea", "forgejo":
		signed := body
		if strings.HasPrefix(h.Get("Content-Type"), "application/x-www-form-urlencoded") {
			q, _ := url.ParseQuery(string(body))
			signed = []byte(q.Get("payload"))
		}
		sig := hookTestHMAC(secret, signed)
		h.Set("X-Gitea-Signature", sig)
		h.Set("X-Gogs-Signature", sig)
		h.Set("X-Hub-Signature", "sha1=0000000000000000000000000000000000000000")
		h.Set("X-Hub-Signature-256", "sha256="+sig)
		if sender == "forgejo" {
			h.Set("X-Forgejo-Signature", sig)
		}
	case "generic":
		h.Set("X-Backplane-Signature", "sha256="+hookTestHMAC(secret, body))
	}
	return h
}

// hookTestFile is each provider's push sample.
var hookTestFile = map[string]string{
	"github":  "github-push.json",
	"gitlab":  "gitlab-push.json",
	"gitea":   "gitea-push.json",
	"forgejo": "gitea-push.json",
	"generic": "generic-push.json",
}

var hookTestPushEvent = map[string]string{
	"github": "push", "gitlab": "Push Hook", "gitea": "push", "forgejo": "push", "generic": "push",
}

// hookTestNoLeak fails when an error's text holds the secret or a
// signature that would have matched.
func hookTestNoLeak(t *testing.T, err error, body []byte) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	if strings.Contains(msg, string(hookTestSecret)) {
		t.Errorf("error %q holds the secret", msg)
	}
	if want := hookTestHMAC(hookTestSecret, body); strings.Contains(msg, want) || strings.Contains(msg, want[:16]) {
		t.Errorf("error %q holds the expected signature", msg)
	}
}

func TestVerifyHookProviders(t *testing.T) {
	for _, sender := range []string{"github", "gitlab", "gitea", "forgejo", "generic"} {
		body := hookTestdata(t, hookTestFile[sender])
		event := hookTestPushEvent[sender]
		t.Run(sender+"/valid", func(t *testing.T) {
			h := hookTestSign(hookTestHeaders(sender, event), sender, body, hookTestSecret)
			if err := VerifyHook(h, body, hookTestSecret); err != nil {
				t.Fatalf("VerifyHook: %v", err)
			}
		})
		t.Run(sender+"/wrong secret", func(t *testing.T) {
			h := hookTestSign(hookTestHeaders(sender, event), sender, body, []byte("another-projects-secret"))
			err := VerifyHook(h, body, hookTestSecret)
			if !errors.Is(err, ErrBadSignature) {
				t.Fatalf("VerifyHook = %v, want ErrBadSignature", err)
			}
			hookTestNoLeak(t, err, body)
		})
		t.Run(sender+"/missing", func(t *testing.T) {
			err := VerifyHook(hookTestHeaders(sender, event), body, hookTestSecret)
			if !errors.Is(err, ErrNoSignature) {
				t.Fatalf("VerifyHook = %v, want ErrNoSignature", err)
			}
			hookTestNoLeak(t, err, body)
		})
		if sender == "gitlab" {
			continue // the token does not cover the body
		}
		t.Run(sender+"/tampered body", func(t *testing.T) {
			h := hookTestSign(hookTestHeaders(sender, event), sender, body, hookTestSecret)
			tampered := []byte(strings.Replace(string(body), "main", "prod", 1))
			err := VerifyHook(h, tampered, hookTestSecret)
			if !errors.Is(err, ErrBadSignature) {
				t.Fatalf("VerifyHook = %v, want ErrBadSignature", err)
			}
			hookTestNoLeak(t, err, tampered)
		})
	}
}

func TestVerifyHookBadForms(t *testing.T) {
	body := hookTestdata(t, "github-push.json")
	good := hookTestHMAC(hookTestSecret, body)
	gitea := func(mod func(h http.Header)) http.Header {
		h := hookTestSign(hookTestHeaders("gitea", "push"), "gitea", body, hookTestSecret)
		mod(h)
		return h
	}
	github := func(mod func(h http.Header)) http.Header {
		h := hookTestHeaders("github", "push")
		mod(h)
		return h
	}
	cases := []struct {
		name   string
		h      http.Header
		secret []byte
		want   error
	}{
		{"github without prefix", github(func(h http.Header) { h.Set("X-Hub-Signature-256", good) }), hookTestSecret, ErrBadSignature},
		{"github sha1 prefix", github(func(h http.Header) { h.Set("X-Hub-Signature-256", "sha1="+good) }), hookTestSecret, ErrBadSignature},
		{"github not hex", github(func(h http.Header) { h.Set("X-Hub-Signature-256", "sha256="+strings.Repeat("zz", 32)) }), hookTestSecret, ErrBadSignature},
		{"github short", github(func(h http.Header) { h.Set("X-Hub-Signature-256", "sha256="+good[:62]) }), hookTestSecret, ErrBadSignature},
		{"github uppercase hex", github(func(h http.Header) { h.Set("X-Hub-Signature-256", "sha256="+strings.ToUpper(good)) }), hookTestSecret, nil},
		{"github twice", github(func(h http.Header) {
			h.Add("X-Hub-Signature-256", "sha256="+good)
			h.Add("X-Hub-Signature-256", "sha256="+good)
		}), hookTestSecret, ErrBadSignature},
		{"github sha1 only", github(func(h http.Header) { h.Set("X-Hub-Signature", "sha1=0123") }), hookTestSecret, ErrNoSignature},
		{"github empty secret", github(func(h http.Header) { h.Set("X-Hub-Signature-256", "sha256="+hookTestHMAC(nil, body)) }), nil, ErrBadSignature},
		{"gitea one of three wrong", gitea(func(h http.Header) { h.Set("X-Hub-Signature-256", "sha256="+strings.Repeat("0", 64)) }), hookTestSecret, ErrBadSignature},
		{"gitea only X-Gitea-Signature", gitea(func(h http.Header) { h.Del("X-Hub-Signature-256") }), hookTestSecret, nil},
		{"gitea only X-Hub-Signature-256", gitea(func(h http.Header) { h.Del("X-Gitea-Signature") }), hookTestSecret, nil},
		{"gitea webhook without a secret", gitea(func(h http.Header) {
			// Gitea sends the headers empty when the webhook has no secret.
			h.Set("X-Gitea-Signature", "")
			h.Set("X-Gogs-Signature", "")
			h.Set("X-Hub-Signature-256", "sha256=")
		}), hookTestSecret, ErrNoSignature},
		{"gitlab token differs in length", func() http.Header {
			h := hookTestHeaders("gitlab", "Push Hook")
			h.Set("X-Gitlab-Token", string(hookTestSecret)+"x")
			return h
		}(), hookTestSecret, ErrBadSignature},
		{"gitlab token prefix", func() http.Header {
			h := hookTestHeaders("gitlab", "Push Hook")
			h.Set("X-Gitlab-Token", string(hookTestSecret[:10]))
			return h
		}(), hookTestSecret, ErrBadSignature},
		{"no provider header", func() http.Header {
			h := http.Header{}
			h.Set("X-Hub-Signature-256", "sha256="+good)
			return h
		}(), hookTestSecret, ErrNoSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := VerifyHook(c.h, body, c.secret)
			if c.want == nil {
				if err != nil {
					t.Fatalf("VerifyHook: %v", err)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("VerifyHook = %v, want %v", err, c.want)
			}
			t.Log(err)
			hookTestNoLeak(t, err, body)
		})
	}
}

// GitHub signs the form-encoded body; Gitea signs the JSON inside it.
func TestVerifyHookFormBodies(t *testing.T) {
	payload := hookTestdata(t, "gitea-push.json")
	form := []byte(url.Values{"payload": {string(payload)}}.Encode())
	for _, sender := range []string{"github", "gitea", "forgejo"} {
		t.Run(sender, func(t *testing.T) {
			h := hookTestHeaders(sender, "push")
			h.Set("Content-Type", "application/x-www-form-urlencoded")
			hookTestSign(h, sender, form, hookTestSecret)
			if err := VerifyHook(h, form, hookTestSecret); err != nil {
				t.Fatalf("VerifyHook: %v", err)
			}
			p, ignore, err := ParseHook(h, form)
			if err != nil || p == nil {
				t.Fatalf("ParseHook = %v, %q, %v", p, ignore, err)
			}
			if p.Branch != "main" || p.After != "c24ca5f3e3a73a76c9aef7f558f8b8aa65af672e" {
				t.Errorf("ParseHook = %+v", p)
			}
		})
	}
	t.Run("gitea signature over the form is wrong", func(t *testing.T) {
		h := hookTestHeaders("gitea", "push")
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		h.Set("X-Gitea-Signature", hookTestHMAC(hookTestSecret, form))
		if err := VerifyHook(h, form, hookTestSecret); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("VerifyHook = %v, want ErrBadSignature", err)
		}
	})
}

// hookTokenEqual must be right whatever the lengths; it compares digests
// with subtle.ConstantTimeCompare, so its time does not depend on where
// the inputs differ or how long they are (not asserted: timing tests are
// flaky).
func TestHookTokenEqual(t *testing.T) {
	cases := []struct {
		got, want string
		equal     bool
	}{
		{"s3cret", "s3cret", true},
		{"s3cret", "s3creT", false},
		{"s3cre", "s3cret", false},
		{"s3crett", "s3cret", false},
		{"", "s3cret", false},
		{"s3cret", "", false},
		{"", "", true},
		{strings.Repeat("a", 4096), strings.Repeat("a", 4096), true},
	}
	for _, c := range cases {
		if got := hookTokenEqual([]byte(c.got), []byte(c.want)); got != c.equal {
			t.Errorf("hookTokenEqual(%q, %q) = %v, want %v", c.got, c.want, got, c.equal)
		}
	}
	sig := hookTestHMAC(hookTestSecret, []byte("body"))
	if !hookMatchHMAC(sig, []byte("body"), hookTestSecret) {
		t.Error("hookMatchHMAC refuses the right signature")
	}
	for _, bad := range []string{"", sig[:63], sig + "00", "zz" + sig[2:], hookTestHMAC(hookTestSecret, []byte("body2"))} {
		if hookMatchHMAC(bad, []byte("body"), hookTestSecret) {
			t.Errorf("hookMatchHMAC accepts %q", bad)
		}
	}
}

func TestParseHookPushes(t *testing.T) {
	cases := []struct {
		name, sender, file string
		want               Push
	}{
		{"github", "github", "github-push.json", Push{
			Provider:   "github",
			DeliveryID: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
			RepoURLs: []string{"https://github.com/acme/api.git", "git@github.com:acme/api.git",
				"git://github.com/acme/api.git", "https://github.com/acme/api"},
			Branch:        "main",
			Before:        "7cea710f62cb9d71c3f545e815375058d590b7f1",
			After:         "63638a1c954852f6e81b21b97b261304a9885c17",
			Files:         []string{"docs/old.md", "package.json", "src/routes/health.js", "src/server.js"},
			FilesComplete: true,
			Pusher:        "octocat",
			Author:        "Ada Lovelace",
			Message:       "Fix the login redirect",
		}},
		{"github 21 commits", "github", "github-push-many.json", Push{
			Provider:   "github",
			DeliveryID: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
			RepoURLs: []string{"https://github.com/acme/api.git", "git@github.com:acme/api.git",
				"git://github.com/acme/api.git", "https://github.com/acme/api"},
			Branch: "main",
			Before: "272dbfa76621f76e773c5850d0289dd16dce9f06",
			After:  "8341cb140181153d05569bdf7725ab0d2aa741c1",
			Files: []string{"src/mod01.js", "src/mod02.js", "src/mod03.js", "src/mod04.js", "src/mod05.js", "src/mod06.js",
				"src/mod07.js", "src/mod08.js", "src/mod09.js", "src/mod10.js", "src/mod11.js", "src/mod12.js", "src/mod13.js",
				"src/mod14.js", "src/mod15.js", "src/mod16.js", "src/mod17.js", "src/mod18.js", "src/mod19.js", "src/mod20.js",
				"src/mod21.js"},
			FilesComplete: false, // GitHub gives no total: the list may be cut
			Pusher:        "octocat",
			Author:        "Ada Lovelace",
			Message:       "Step 21: tidy module 21",
		}},
		{"github branch deleted", "github", "github-delete.json", Push{
			Provider:   "github",
			DeliveryID: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
			RepoURLs: []string{"https://github.com/acme/api.git", "git@github.com:acme/api.git",
				"git://github.com/acme/api.git", "https://github.com/acme/api"},
			Branch:  "feature/login",
			Before:  "9b80ed92f7bee0abce8d7eba2925dcc0f353090b",
			After:   "0000000000000000000000000000000000000000",
			Deleted: true,
			Pusher:  "octocat",
		}},
		{"gitlab", "gitlab", "gitlab-push.json", Push{
			Provider:   "gitlab",
			DeliveryID: "13792a34-cac6-4fda-95a8-c58e00a3954e",
			RepoURLs: []string{"https://gitlab.acme.example/shop/api.git", "git@gitlab.acme.example:shop/api.git",
				"https://gitlab.acme.example/shop/api"},
			Branch:        "main",
			Before:        "f49de81d68684cd98ce6506fb4a6be6590507834",
			After:         "26b6fd907598d714a8e9ab4181404e93df1af8b8",
			Files:         []string{"package-lock.json", "package.json", "src/cache.js", "src/products.js"},
			FilesComplete: true,
			Pusher:        "grace",
			Author:        "Grace Hopper",
			Message:       "Bump express to 4.19.2",
		}},
		{"gitea", "gitea", "gitea-push.json", Push{
			Provider:   "gitea",
			DeliveryID: "e3b6a1c4-3a52-4d67-9a6f-0f0c2b7d8e91",
			RepoURLs: []string{"https://git.acme.example/acme/api.git", "ssh://git@git.acme.example:2222/acme/api.git",
				"https://git.acme.example/acme/api"},
			Branch:        "main",
			Before:        "22d1847c89a1b613333612adb5ef09580cbc38d1",
			After:         "c24ca5f3e3a73a76c9aef7f558f8b8aa65af672e",
			Files:         []string{"src/db.js", "src/metrics.js", "src/server.js"},
			FilesComplete: true,
			Pusher:        "alice",
			Author:        "Alice Martin",
			Message:       "Serve /metrics",
		}},
		{"forgejo", "forgejo", "gitea-push.json", Push{
			Provider:   "gitea",
			DeliveryID: "e3b6a1c4-3a52-4d67-9a6f-0f0c2b7d8e91",
			RepoURLs: []string{"https://git.acme.example/acme/api.git", "ssh://git@git.acme.example:2222/acme/api.git",
				"https://git.acme.example/acme/api"},
			Branch:        "main",
			Before:        "22d1847c89a1b613333612adb5ef09580cbc38d1",
			After:         "c24ca5f3e3a73a76c9aef7f558f8b8aa65af672e",
			Files:         []string{"src/db.js", "src/metrics.js", "src/server.js"},
			FilesComplete: true,
			Pusher:        "alice",
			Author:        "Alice Martin",
			Message:       "Serve /metrics",
		}},
		{"generic", "generic", "generic-push.json", Push{
			Provider:      "generic",
			DeliveryID:    "ci-run-4411-1",
			RepoURLs:      []string{"https://git.acme.example/acme/api.git"},
			Branch:        "main",
			Before:        "3f553d0618baba7ff8d906f2a24b7fa9f7bd7bac",
			After:         "0f9a91c9045ab7c2fd5602cb9c1c985fed35c17d",
			Files:         []string{"package.json", "src/server.js"},
			FilesComplete: true,
			Pusher:        "ci",
			Author:        "Ada Lovelace",
			Message:       "Fix the login redirect",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := hookTestdata(t, c.file)
			h := hookTestSign(hookTestHeaders(c.sender, hookTestPushEvent[c.sender]), c.sender, body, hookTestSecret)
			if err := VerifyHook(h, body, hookTestSecret); err != nil {
				t.Fatalf("VerifyHook: %v", err)
			}
			p, ignore, err := ParseHook(h, body)
			if err != nil || ignore != "" || p == nil {
				t.Fatalf("ParseHook = %v, %q, %v", p, ignore, err)
			}
			if !reflect.DeepEqual(*p, c.want) {
				t.Errorf("ParseHook =\n%#v\nwant\n%#v", *p, c.want)
			}
		})
	}
}

// hookTestEdit rewrites a sample's JSON.
func hookTestEdit(t *testing.T, file string, edit func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(hookTestdata(t, file), &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// What FilesComplete says when a provider cuts the list or the list
// cannot cover the push.
func TestParseHookFilesComplete(t *testing.T) {
	cases := []struct {
		name, sender, file string
		edit               func(m map[string]any)
		files              bool // Files is not nil
		complete           bool
	}{
		{"gitlab total above the list", "gitlab", "gitlab-push.json", func(m map[string]any) { m["total_commits_count"] = 57 }, true, false},
		{"gitlab without total", "gitlab", "gitlab-push.json", func(m map[string]any) { delete(m, "total_commits_count") }, true, false},
		{"gitlab commits without files", "gitlab", "gitlab-push.json", func(m map[string]any) {
			for _, c := range m["commits"].([]any) {
				c := c.(map[string]any)
				delete(c, "added")
				delete(c, "modified")
				delete(c, "removed")
			}
		}, false, false},
		{"gitea total above the list", "gitea", "gitea-push.json", func(m map[string]any) { m["total_commits"] = 9 }, true, false},
		{"gitea before total_commits", "gitea", "gitea-push.json", func(m map[string]any) { delete(m, "total_commits") }, true, false},
		{"github force-push", "github", "github-push.json", func(m map[string]any) { m["forced"] = true }, true, false},
		{"github new branch", "github", "github-push.json", func(m map[string]any) {
			m["created"] = true
			m["before"] = strings.Repeat("0", 40)
		}, true, false},
		{"github no commits listed", "github", "github-push.json", func(m map[string]any) { m["commits"] = []any{} }, false, false},
		{"github 19 commits", "github", "github-push-many.json", func(m map[string]any) { m["commits"] = m["commits"].([]any)[2:] }, true, true},
		{"github one commit lists 3000 files", "github", "github-push.json", func(m map[string]any) {
			files := make([]any, 3000)
			for i := range files {
				files[i] = "static/" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + ".html"
			}
			m["commits"].([]any)[0].(map[string]any)["added"] = files
		}, true, false},
		{"generic without files", "generic", "generic-push.json", func(m map[string]any) { delete(m, "files") }, false, false},
		{"generic empty files", "generic", "generic-push.json", func(m map[string]any) { m["files"] = []any{} }, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := hookTestEdit(t, c.file, c.edit)
			p, ignore, err := ParseHook(hookTestHeaders(c.sender, hookTestPushEvent[c.sender]), body)
			if err != nil || p == nil {
				t.Fatalf("ParseHook = %v, %q, %v", p, ignore, err)
			}
			if (p.Files != nil) != c.files || p.FilesComplete != c.complete {
				t.Errorf("Files = %v (%d), FilesComplete = %v; want files listed %v, complete %v", p.Files != nil, len(p.Files), p.FilesComplete, c.files, c.complete)
			}
		})
	}
}

func TestParseHookIgnored(t *testing.T) {
	tagged := func(file string) []byte {
		return hookTestEdit(t, file, func(m map[string]any) { m["ref"] = "refs/tags/v1.4.0" })
	}
	cases := []struct {
		name, sender, event string
		body                []byte
		reason              string // a part of it
	}{
		{"github ping", "github", "ping", hookTestdata(t, "github-ping.json"), "ping"},
		{"github tag push", "github", "push", tagged("github-push.json"), `tag push "refs/tags/v1.4.0"`},
		{"github issues", "github", "issues", []byte(`{"action":"opened"}`), `"issues" event is not a push`},
		{"github pull request", "github", "pull_request", []byte(`{}`), `"pull_request" event is not a push`},
		{"github other ref", "github", "push", hookTestEdit(t, "github-push.json", func(m map[string]any) { m["ref"] = "refs/notes/commits" }), "not a branch"},
		{"gitlab tag push", "gitlab", "Tag Push Hook", hookTestdata(t, "gitlab-tag.json"), "tag push"},
		{"gitlab tag push sent as a push hook", "gitlab", "Push Hook", hookTestdata(t, "gitlab-tag.json"), "tag push"},
		{"gitlab system hook tag push", "gitlab", "System Hook", hookTestdata(t, "gitlab-tag.json"), "tag push"},
		{"gitlab system hook other", "gitlab", "System Hook", []byte(`{"event_name":"project_create"}`), `"project_create" event is not a push`},
		{"gitlab merge request", "gitlab", "Merge Request Hook", []byte(`{"object_kind":"merge_request"}`), `"Merge Request Hook" event is not a push`},
		{"gitea tag push", "gitea", "push", tagged("gitea-push.json"), "tag push"},
		{"gitea create", "gitea", "create", []byte(`{"ref":"v1.4.0","ref_type":"tag"}`), `"create" event is not a push`},
		{"gitea delete", "gitea", "delete", []byte(`{"ref":"feature","ref_type":"branch"}`), `"delete" event is not a push`},
		{"forgejo issues", "forgejo", "issues", []byte(`{}`), `Forgejo "issues" event`},
		{"generic tag", "generic", "push", hookTestEdit(t, "generic-push.json", func(m map[string]any) { m["branch"] = "refs/tags/v2" }), "tag push"},
		{"generic other event", "generic", "build", []byte(`{}`), `"build" is not a push`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := hookTestSign(hookTestHeaders(c.sender, c.event), c.sender, c.body, hookTestSecret)
			if err := VerifyHook(h, c.body, hookTestSecret); err != nil {
				t.Fatalf("VerifyHook: %v", err)
			}
			p, ignore, err := ParseHook(h, c.body)
			if err != nil || p != nil {
				t.Fatalf("ParseHook = %+v, %q, %v; want it ignored", p, ignore, err)
			}
			if !strings.Contains(ignore, c.reason) {
				t.Errorf("reason %q, want it to say %q", ignore, c.reason)
			}
		})
	}
}

func TestParseHookErrors(t *testing.T) {
	sha64 := strings.Repeat("ab", 32)
	cases := []struct {
		name, sender string
		body         []byte
		contentType  string
		want         string // a part of the error; "" when it must parse
	}{
		{"malformed JSON", "github", []byte(`{"ref": "refs/heads/main",`), "", "GitHub push payload is not valid JSON"},
		{"not an object", "gitlab", []byte(`[1, 2]`), "", "GitLab push payload: is a JSON array, want an object"},
		{"wrong type", "github", hookTestEdit(t, "github-push.json", func(m map[string]any) { m["commits"] = "many" }), "", "GitHub push payload: commits: is a JSON string, want a list"},
		{"missing ref", "github", hookTestEdit(t, "github-push.json", func(m map[string]any) { delete(m, "ref") }), "", "GitHub push payload: ref: is required"},
		{"missing after", "gitlab", hookTestEdit(t, "gitlab-push.json", func(m map[string]any) { delete(m, "after") }), "", "GitLab push payload: after: is required"},
		{"missing before", "gitea", hookTestEdit(t, "gitea-push.json", func(m map[string]any) { delete(m, "before") }), "", "Gitea push payload: before: is required"},
		{"short after", "github", hookTestEdit(t, "github-push.json", func(m map[string]any) { m["after"] = "63638a1" }), "", `after: "63638a1" is not a commit SHA (40 or 64 hex digits)`},
		{"after not hex", "gitea", hookTestEdit(t, "gitea-push.json", func(m map[string]any) { m["after"] = strings.Repeat("g", 40) }), "", "after: \"gggg"},
		{"before not hex", "gitlab", hookTestEdit(t, "gitlab-push.json", func(m map[string]any) { m["before"] = strings.Repeat("z", 64) }), "", "GitLab push payload: before:"},
		{"sha256 repository", "gitea", hookTestEdit(t, "gitea-push.json", func(m map[string]any) {
			m["before"], m["after"] = strings.ToUpper(sha64), sha64
		}), "", ""},
		{"long value is cut", "github", hookTestEdit(t, "github-push.json", func(m map[string]any) { m["after"] = strings.Repeat("x", 5000) }), "", "…\" is not a commit SHA"},
		{"no repository URL", "github", hookTestEdit(t, "github-push.json", func(m map[string]any) { delete(m, "repository") }), "", "GitHub push payload: repository: has no URL"},
		{"gitlab no project URL", "gitlab", hookTestEdit(t, "gitlab-push.json", func(m map[string]any) {
			delete(m, "project")
			delete(m, "repository")
		}), "", "GitLab push payload: project: has no URL"},
		{"generic missing sha", "generic", hookTestEdit(t, "generic-push.json", func(m map[string]any) { delete(m, "sha") }), "", "generic push payload: sha: is required"},
		{"generic missing repo", "generic", hookTestEdit(t, "generic-push.json", func(m map[string]any) { delete(m, "repo") }), "", "generic push payload: repo: is required"},
		{"generic bad repo", "generic", hookTestEdit(t, "generic-push.json", func(m map[string]any) { m["repo"] = "file:///srv/api.git" }), "", `repo: "file:///srv/api.git" is not a git URL`},
		{"generic missing branch", "generic", hookTestEdit(t, "generic-push.json", func(m map[string]any) { delete(m, "branch") }), "", "generic push payload: branch: is required"},
		{"generic bad before", "generic", hookTestEdit(t, "generic-push.json", func(m map[string]any) { m["before"] = "HEAD~1" }), "", `before: "HEAD~1" is not a commit SHA`},
		{"form without payload", "github", []byte("ref=refs%2Fheads%2Fmain"), "application/x-www-form-urlencoded", `no "payload" field`},
		{"form that does not decode", "github", []byte("payload=%zz"), "application/x-www-form-urlencoded", "does not decode"},
		{"JSON sent as a form (curl -d)", "generic", hookTestdata(t, "generic-push.json"), "application/x-www-form-urlencoded", ""},
		{"too large", "github", make([]byte, MaxHookBody+1), "", "more than 1048576"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := hookTestHeaders(c.sender, hookTestPushEvent[c.sender])
			if c.contentType != "" {
				h.Set("Content-Type", c.contentType)
			}
			p, ignore, err := ParseHook(h, c.body)
			if c.want == "" {
				if err != nil || p == nil {
					t.Fatalf("ParseHook = %v, %q, %v", p, ignore, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseHook = %+v, %q, nil; want an error with %q", p, ignore, c.want)
			}
			t.Log(err)
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to say %q", err, c.want)
			}
			if len(err.Error()) > 300 {
				t.Errorf("error is %d bytes long", len(err.Error()))
			}
		})
	}
	t.Run("no provider header", func(t *testing.T) {
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		_, _, err := ParseHook(h, hookTestdata(t, "github-push.json"))
		if err == nil || !strings.Contains(err.Error(), "X-GitHub-Event") {
			t.Fatalf("ParseHook error %v, want one naming the headers", err)
		}
	})
	t.Run("sha256 lowercased", func(t *testing.T) {
		body := hookTestEdit(t, "gitea-push.json", func(m map[string]any) { m["before"], m["after"] = strings.ToUpper(sha64), sha64 })
		p, _, err := ParseHook(hookTestHeaders("gitea", "push"), body)
		if err != nil || p.Before != sha64 || p.After != sha64 {
			t.Fatalf("ParseHook = %+v, %v", p, err)
		}
	})
}

func TestParseHookDeliveryIDs(t *testing.T) {
	gitlab := func(headers ...string) http.Header {
		h := http.Header{}
		h.Set("X-Gitlab-Event", "Push Hook")
		for i := 0; i+1 < len(headers); i += 2 {
			h.Set(headers[i], headers[i+1])
		}
		return h
	}
	cases := []struct {
		name string
		h    http.Header
		file string
		want string
	}{
		{"gitlab idempotency key first", gitlab("Idempotency-Key", "k1", "X-Gitlab-Event-UUID", "e1", "X-Gitlab-Webhook-UUID", "w1"), "gitlab-push.json", "k1"},
		{"gitlab event uuid", gitlab("X-Gitlab-Event-UUID", "e1", "X-Gitlab-Webhook-UUID", "w1"), "gitlab-push.json", "e1"},
		{"gitlab webhook uuid", gitlab("X-Gitlab-Webhook-UUID", "w1"), "gitlab-push.json", "w1"},
		{"gitlab none", gitlab(), "gitlab-push.json", ""},
		{"forgejo", func() http.Header {
			h := hookTestHeaders("forgejo", "push")
			h.Set("X-Forgejo-Delivery", "fj-1")
			return h
		}(), "gitea-push.json", "fj-1"},
		{"generic without delivery", hookTestHeaders("generic", "push"), "generic-push-nodelivery", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body []byte
			if c.file == "generic-push-nodelivery" {
				body = hookTestEdit(t, "generic-push.json", func(m map[string]any) { delete(m, "delivery") })
			} else {
				body = hookTestdata(t, c.file)
			}
			p, _, err := ParseHook(c.h, body)
			if err != nil {
				t.Fatal(err)
			}
			if p.DeliveryID != c.want {
				t.Errorf("DeliveryID = %q, want %q", p.DeliveryID, c.want)
			}
		})
	}
}

// Every URL a payload gives meets the schema's spelling of the repository.
func TestParseHookURLsMatchSchemaRepo(t *testing.T) {
	cases := []struct {
		sender, file string
		schemaRepos  []string
	}{
		{"github", "github-push.json", []string{"https://github.com/acme/api.git", "git@github.com:acme/api.git", "https://github.com/Acme/API", "ssh://git@github.com/acme/api.git"}},
		{"gitlab", "gitlab-push.json", []string{"https://gitlab.acme.example/shop/api.git", "git@gitlab.acme.example:shop/api.git", "http://gitlab.acme.example/shop/api"}},
		{"gitea", "gitea-push.json", []string{"https://git.acme.example/acme/api.git", "ssh://git@git.acme.example:2222/acme/api.git"}},
	}
	for _, c := range cases {
		p, _, err := ParseHook(hookTestHeaders(c.sender, hookTestPushEvent[c.sender]), hookTestdata(t, c.file))
		if err != nil {
			t.Fatal(err)
		}
		keys := map[string]bool{}
		for _, u := range p.RepoURLs {
			keys[NormalizeRepo(u)] = true
		}
		for _, r := range c.schemaRepos {
			if !keys[NormalizeRepo(r)] {
				t.Errorf("%s: schema repo %q (%q) matches none of %q", c.sender, r, NormalizeRepo(r), p.RepoURLs)
			}
		}
		if keys[NormalizeRepo("https://github.com/acme/web.git")] {
			t.Errorf("%s: another repository matches", c.sender)
		}
	}
}

func TestHookNormalizeRepo(t *testing.T) {
	cases := []struct{ in, want string }{
		{"https://github.com/acme/api.git", "github.com/acme/api"},
		{"https://github.com/acme/api", "github.com/acme/api"},
		{"https://github.com/acme/api/", "github.com/acme/api"},
		{"https://github.com/acme/api.git/", "github.com/acme/api"},
		{"HTTPS://GitHub.com/Acme/API.GIT", "github.com/acme/api"},
		{"http://github.com/acme/api", "github.com/acme/api"},
		{"https://github.com:443/acme/api.git", "github.com/acme/api"},
		{"https://x-access-token:ghp_secret@github.com/acme/api.git", "github.com/acme/api"},
		{"https://github.com/acme/api.git?ref=main#readme", "github.com/acme/api"},
		{"git@github.com:acme/api.git", "github.com/acme/api"},
		{"github.com:acme/api", "github.com/acme/api"},
		{"ssh://git@github.com/acme/api.git", "github.com/acme/api"},
		{"ssh://git@github.com:22/acme/api", "github.com/acme/api"},
		{"git+ssh://git@github.com/acme/api.git", "github.com/acme/api"},
		{"git@gitlab.com:group/sub/api.git", "gitlab.com/group/sub/api"},
		{"https://gitlab.com//group//sub/api.git", "gitlab.com/group/sub/api"},
		{"git@host:/srv/git/api.git", "host/srv/git/api"},
		{"ssh://git@gitea.local:2222/acme/api.git", "gitea.local:2222/acme/api"},
		{"http://localhost:3000/acme/api", "localhost:3000/acme/api"},
		{"https://host:80/acme/api", "host:80/acme/api"},
		{"http://host/acme/api", "host/acme/api"},
		{"git://127.0.0.1:9418/api.git", "127.0.0.1:9418/api"},
		{"git://127.0.0.1/api.git", "127.0.0.1:9418/api"},
		{"git://127.0.0.1:40123/api.git", "127.0.0.1:40123/api"},
		{"git://github.com/acme/api.git", "github.com:9418/acme/api"},
		{"ssh://git@[::1]:2222/acme/api.git", "[::1]:2222/acme/api"},
		{"https://[2001:DB8::1]/acme/api", "[2001:db8::1]/acme/api"},
		{"git@[::1]:acme/api.git", "[::1]/acme/api"},
		{"  https://github.com/acme/api.git\n", "github.com/acme/api"},
		// Not git URLs.
		{"", ""},
		{"github.com/acme/api", ""},
		{"/srv/git/api.git", ""},
		{"./api", ""},
		{"file:///srv/git/api.git", ""},
		{"ftp://host/api.git", ""},
		{"https://github.com", ""},
		{"https://github.com/", ""},
		{"https://github.com/.git", ""},
		{"https:///acme/api", ""},
		{"https://github.com:https/acme/api", ""},
		{"https://github.com:0/acme/api", ""},
		{"ssh://git@github.com:acme/api.git", ""},
		{"git@github.com:acme/my api.git", ""},
		{"git@github.com:", ""},
		{"https://bad host/acme/api", ""},
		{"https://github.com/acme\\api", ""},
		{"https://github.com/acme/\x00api", ""},
		{"https://github.com/acme/\xffapi", ""},
	}
	for _, c := range cases {
		if got := NormalizeRepo(c.in); got != c.want {
			t.Errorf("NormalizeRepo(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// Different repositories stay apart.
	apart := [][2]string{
		{"https://github.com/acme/api", "https://github.com/acme/api2"},
		{"https://github.com/acme/api", "https://gitlab.com/acme/api"},
		{"http://localhost:3000/acme/api", "http://localhost:3001/acme/api"},
		{"git://127.0.0.1/api.git", "http://127.0.0.1/api.git"},
		{"https://github.com/acme/api", "https://github.com/acme/api/tree"},
	}
	for _, a := range apart {
		if NormalizeRepo(a[0]) == NormalizeRepo(a[1]) {
			t.Errorf("NormalizeRepo(%q) == NormalizeRepo(%q) = %q", a[0], a[1], NormalizeRepo(a[0]))
		}
	}
}
