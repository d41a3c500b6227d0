package autodeploy

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"
)

// hookFuzzSenders are the header sets FuzzParseHook picks from; the last
// names no provider.
var hookFuzzSenders = []string{"github", "gitlab", "gitea", "forgejo", "generic", "none"}

// FuzzParseHook: no header set and body makes ParseHook or VerifyHook
// panic, and what ParseHook returns keeps its promises. A body signed as
// its provider signs verifies; a changed signature does not.
func FuzzParseHook(f *testing.F) {
	seeds := []struct {
		sender, event, file string
	}{
		{"github", "push", "github-push.json"},
		{"github", "push", "github-push-many.json"},
		{"github", "push", "github-delete.json"},
		{"github", "ping", "github-ping.json"},
		{"gitlab", "Push Hook", "gitlab-push.json"},
		{"gitlab", "Tag Push Hook", "gitlab-tag.json"},
		{"gitlab", "System Hook", "gitlab-push.json"},
		{"gitea", "push", "gitea-push.json"},
		{"forgejo", "push", "gitea-push.json"},
		{"generic", "push", "generic-push.json"},
		{"none", "push", "github-push.json"},
	}
	for _, s := range seeds {
		body, err := os.ReadFile(filepath.Join("testdata", "hooks", s.file))
		if err != nil {
			f.Fatal(err)
		}
		for i, name := range hookFuzzSenders {
			if name == s.sender {
				f.Add(uint8(i), s.event, "application/json", body)
			}
		}
	}
	f.Add(uint8(0), "push", "application/x-www-form-urlencoded", []byte("payload=%7B%22ref%22%3A%22refs%2Fheads%2Fmain%22%7D"))
	f.Add(uint8(4), "push", "application/json", []byte(`{"repo":"git@h:a/b","branch":"main","sha":"`+strings.Repeat("0", 40)+`"}`))
	f.Add(uint8(1), "Push Hook", "", []byte(`{"object_kind":"push","ref":"refs/heads/x","after":"`+strings.Repeat("a", 64)+`","before":"`+strings.Repeat("b", 64)+`","project":{"web_url":"https://h/p"},"commits":[{"id":"x","added":null}],"total_commits_count":-1}`))

	f.Fuzz(func(t *testing.T, sender uint8, event, contentType string, body []byte) {
		name := hookFuzzSenders[int(sender)%len(hookFuzzSenders)]
		h := hookTestHeaders(name, event)
		if name == "none" {
			h.Set("X-Other-Event", event)
		}
		h.Set("Content-Type", contentType)

		p, ignore, err := ParseHook(h, body)
		switch {
		case err != nil:
			if p != nil || ignore != "" {
				t.Fatalf("ParseHook returned an error and a result: %+v, %q, %v", p, ignore, err)
			}
		case p == nil:
			if ignore == "" {
				t.Fatal("ParseHook returned nothing: no push, no reason, no error")
			}
		default:
			hookFuzzCheckPush(t, name, p, ignore)
		}

		// VerifyHook never panics on what it is sent, signed or not.
		verr := VerifyHook(h, body, hookTestSecret)
		if verr != nil && !errors.Is(verr, ErrNoSignature) && !errors.Is(verr, ErrBadSignature) {
			t.Fatalf("VerifyHook error %v is neither ErrNoSignature nor ErrBadSignature", verr)
		}
		if verr != nil && strings.Contains(verr.Error(), string(hookTestSecret)) {
			t.Fatalf("VerifyHook error %q holds the secret", verr)
		}
		if name == "none" || !utf8.ValidString(event) || strings.TrimSpace(event) == "" || strings.ContainsAny(event, "\r\n") {
			return
		}
		signed := hookTestSign(h.Clone(), name, body, hookTestSecret)
		if name == "gitea" || name == "forgejo" {
			// Gitea signs the JSON payload, the body or its form field.
			payload, perr := hookPayload(h, body)
			if perr != nil {
				return // a form without a payload has nothing signed
			}
			sig := hookTestHMAC(hookTestSecret, payload)
			signed.Set("X-Gitea-Signature", sig)
			signed.Set("X-Hub-Signature-256", "sha256="+sig)
			if name == "forgejo" {
				signed.Set("X-Forgejo-Signature", sig)
			}
		}
		if err := VerifyHook(signed, body, hookTestSecret); err != nil {
			t.Fatalf("VerifyHook refuses a body signed as %s signs it: %v", name, err)
		}
		if name == "gitlab" {
			signed.Set("X-Gitlab-Token", string(hookTestSecret)+"!")
		} else {
			for _, k := range []string{"X-Hub-Signature-256", "X-Backplane-Signature", "X-Gitea-Signature"} {
				if v := signed.Get(k); v != "" {
					last := v[len(v)-1]
					signed.Set(k, v[:len(v)-1]+map[bool]string{true: "1", false: "0"}[last == '0'])
					break
				}
			}
		}
		if err := VerifyHook(signed, body, hookTestSecret); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("VerifyHook accepts a changed signature (%s): %v", name, err)
		}
	})
}

// hookFuzzCheckPush checks the promises Push's documentation makes.
func hookFuzzCheckPush(t *testing.T, sender string, p *Push, ignore string) {
	t.Helper()
	if ignore != "" {
		t.Fatalf("ParseHook returned a push and a reason %q", ignore)
	}
	want := sender
	if sender == "forgejo" {
		want = "gitea"
	}
	if p.Provider != want {
		t.Fatalf("Provider %q from %s headers", p.Provider, sender)
	}
	if p.Branch == "" {
		t.Fatal("a push with no branch")
	}
	if len(p.RepoURLs) == 0 {
		t.Fatal("a push with no repository URL")
	}
	for _, u := range p.RepoURLs {
		if u == "" || u != strings.TrimSpace(u) {
			t.Fatalf("RepoURLs holds %q", u)
		}
	}
	for field, sha := range map[string]string{"after": p.After, "before": p.Before} {
		if sha == "" && field == "before" {
			continue
		}
		if len(sha) != 40 && len(sha) != 64 || strings.Trim(sha, "0123456789abcdef") != "" {
			t.Fatalf("%s %q is not a lowercase 40/64-hex SHA", field, sha)
		}
	}
	if p.Deleted && (p.Files != nil || p.FilesComplete) {
		t.Fatalf("a deleted branch with files: %+v", p)
	}
	if p.FilesComplete && p.Files == nil {
		t.Fatal("FilesComplete with no Files")
	}
	if !sort.StringsAreSorted(p.Files) {
		t.Fatalf("Files are not sorted: %q", p.Files)
	}
	for i, f := range p.Files {
		if f == "" || i > 0 && p.Files[i-1] == f {
			t.Fatalf("Files holds %q twice or empty: %q", f, p.Files)
		}
	}
	if strings.Contains(p.Message, "\n") {
		t.Fatalf("Message %q is more than a line", p.Message)
	}
}

// FuzzNormalizeRepo: NormalizeRepo never panics, and a key it returns is
// lowercase, bare (no scheme, user, ".git" or trailing slash) and stable:
// the key read back as an https (or ssh, or scp-like) URL gives itself.
func FuzzNormalizeRepo(f *testing.F) {
	for _, s := range []string{
		"https://github.com/acme/api.git",
		"git@github.com:acme/api.git",
		"ssh://git@host:22/acme/api",
		"ssh://git@gitea.local:2222/acme/api.git",
		"git://127.0.0.1:9418/api.git",
		"git://127.0.0.1/api.git",
		"http://host/acme/api",
		"https://user:token@host:8443/a/b/c.git/",
		"git@[::1]:acme/api.git",
		"https://[2001:db8::1]:443/acme/api",
		"HTTPS://GitHub.com/Acme/API.GIT",
		"github.com/acme/api",
		"file:///srv/api.git",
		"api.git.git",
		"h:a.git.GIT/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		k := NormalizeRepo(raw)
		if k == "" {
			return
		}
		if k != strings.ToLower(k) {
			t.Fatalf("NormalizeRepo(%q) = %q is not lowercase", raw, k)
		}
		if strings.Contains(k, "://") || strings.HasSuffix(k, "/") || strings.HasSuffix(k, ".git") || strings.Contains(k, "//") {
			t.Fatalf("NormalizeRepo(%q) = %q is not a bare host/path", raw, k)
		}
		hostport, path, ok := strings.Cut(k, "/")
		if !ok || hostport == "" || path == "" {
			t.Fatalf("NormalizeRepo(%q) = %q is not host/path", raw, k)
		}
		if strings.Contains(hostport, "@") {
			t.Fatalf("NormalizeRepo(%q) = %q keeps a user", raw, k)
		}
		if NormalizeRepo(raw) != k {
			t.Fatalf("NormalizeRepo(%q) is not deterministic", raw)
		}
		// Read back as a URL, the key gives itself. https drops :443, so a
		// key that keeps 443 goes through ssh, which keeps it.
		scheme := "https://"
		if strings.HasSuffix(hostport, ":443") {
			scheme = "ssh://"
		}
		if again := NormalizeRepo(scheme + k); again != k {
			t.Fatalf("NormalizeRepo(%q) = %q, but NormalizeRepo(%q) = %q", raw, k, scheme+k, again)
		}
		bracketed := strings.HasPrefix(hostport, "[") && strings.HasSuffix(hostport, "]")
		if !strings.Contains(hostport, ":") || bracketed {
			// No port: the scp-like form gives it too.
			if again := NormalizeRepo("git@" + hostport + ":" + path); again != k {
				t.Fatalf("NormalizeRepo(%q) = %q, but its scp-like form gives %q", raw, k, again)
			}
		}
	})
}
