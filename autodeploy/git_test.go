package autodeploy

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"

	"github.com/backplane-dev/backplane/test/agent"
)

func gitTestRepo(t *testing.T) (*agent.GitDaemon, *agent.GitRepo) {
	t.Helper()
	d := agent.StartGitDaemon(t)
	return d, d.NewRepo(t, "app")
}

func gitTestCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func gitWantPaths(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("changed paths\n got %q\nwant %q", got, want)
	}
}

func TestGitHeadFollowsNewCommits(t *testing.T) {
	_, r := gitTestRepo(t)
	ctx := gitTestCtx(t)
	for i := range 3 {
		sha := r.Commit(t, map[string]string{"README.md": fmt.Sprintf("v%d\n", i)}, fmt.Sprintf("commit %d", i), "")
		got, err := Head(ctx, r.URL, "main", Auth{})
		if err != nil {
			t.Fatal(err)
		}
		if got != sha {
			t.Fatalf("after commit %d: Head = %s, want %s", i, got, sha)
		}
	}
	// refs/heads/main names the same branch.
	if got, err := Head(ctx, r.URL, "refs/heads/main", Auth{}); err != nil || got == "" {
		t.Fatalf("Head(refs/heads/main) = %q, %v", got, err)
	}
}

func TestGitChangedBetweenTwoCommits(t *testing.T) {
	_, r := gitTestRepo(t)
	ctx := gitTestCtx(t)
	from := r.Commit(t, map[string]string{
		"README.md":            "hello\n",
		"services/api/main.go": "package main\n",
		"services/api/old.go":  "package main // old\n",
		"services/web/app.js":  "app()\n",
		"docs/guide.md":        "guide\n",
	}, "first", "")
	to := r.Commit(t, map[string]string{
		"services/api/main.go":    "package main\n\nfunc main() {}\n", // modified
		"services/api/old.go":     agent.Removed,                      // renamed...
		"services/api/renamed.go": "package main // old\n",            // ...to here
		"docs/guide.md":           agent.Removed,                      // removed
		"services/db/schema.sql":  "create table t();\n",              // added
	}, "second", "")
	paths, c, err := Changed(ctx, r.URL, "main", from, to, Auth{})
	if err != nil {
		t.Fatal(err)
	}
	gitWantPaths(t, paths, []string{
		"docs/guide.md",
		"services/api/main.go",
		"services/api/old.go",
		"services/api/renamed.go",
		"services/db/schema.sql",
	})
	if c.SHA != to || c.Message != "second" {
		t.Errorf("commit = %+v, want %s \"second\"", c, to)
	}
	// Nothing changes between a commit and itself.
	paths, _, err = Changed(ctx, r.URL, "main", to, to, Auth{})
	if err != nil {
		t.Fatal(err)
	}
	if paths == nil || len(paths) != 0 {
		t.Errorf("from = to: paths %#v, want empty and not nil (nil would read as unknown)", paths)
	}
	// to "" is the tip.
	_, c, err = Changed(ctx, r.URL, "main", from, "", Auth{})
	if err != nil || c.SHA != to {
		t.Fatalf("Changed(to \"\") = %+v, %v; want the tip %s", c, err, to)
	}
}

func TestGitChangedNewBranch(t *testing.T) {
	_, r := gitTestRepo(t)
	ctx := gitTestCtx(t)
	r.Commit(t, map[string]string{"a.txt": "a\n", "dir/b.txt": "b\n"}, "on main", "")
	r.Branch = "feature/x"
	sha := r.Commit(t, map[string]string{"dir/sub/c.txt": "c\n"}, "on the new branch", "")
	want := []string{"a.txt", "dir/b.txt", "dir/sub/c.txt"}
	for _, from := range []string{"", strings.Repeat("0", 40)} {
		paths, c, err := Changed(ctx, r.URL, "feature/x", from, sha, Auth{})
		if err != nil {
			t.Fatalf("from %q: %v", from, err)
		}
		gitWantPaths(t, paths, want)
		if c.SHA != sha {
			t.Errorf("from %q: commit %s, want %s", from, c.SHA, sha)
		}
	}
	if head, err := Head(ctx, r.URL, "feature/x", Auth{}); err != nil || head != sha {
		t.Fatalf("Head(feature/x) = %q, %v; want %s", head, err, sha)
	}
}

func TestGitChangedAcrossSeveralCommits(t *testing.T) {
	_, r := gitTestRepo(t)
	ctx := gitTestCtx(t)
	from := r.Commit(t, map[string]string{"keep.txt": "1\n", "edit.txt": "1\n", "gone.txt": "1\n"}, "base", "")
	r.Commit(t, map[string]string{"edit.txt": "2\n", "temp.txt": "short-lived\n"}, "two", "")
	r.Commit(t, map[string]string{"temp.txt": agent.Removed, "gone.txt": agent.Removed}, "three", "")
	r.Commit(t, map[string]string{"new/file.txt": "4\n"}, "four", "")
	to := r.Commit(t, map[string]string{"edit.txt": "1\n"}, "five: edit.txt back as it was", "")
	paths, c, err := Changed(ctx, r.URL, "main", from, to, Auth{})
	if err != nil {
		t.Fatal(err)
	}
	// The trees are compared, not the commits in between: temp.txt came
	// and went, and edit.txt is back where it was.
	gitWantPaths(t, paths, []string{"gone.txt", "new/file.txt"})
	if c.SHA != to {
		t.Errorf("commit %s, want %s", c.SHA, to)
	}
}

func TestGitChangedFromOutOfReachListsEverything(t *testing.T) {
	_, r := gitTestRepo(t)
	ctx := gitTestCtx(t)
	from := r.Commit(t, map[string]string{"services/api/main.go": "1\n", "README.md": "r\n"}, "one", "")
	for i := 2; i <= 5; i++ {
		r.Commit(t, map[string]string{"services/web/app.js": fmt.Sprint(i)}, fmt.Sprintf("commit %d", i), "")
	}
	to := r.Commit(t, map[string]string{"services/web/app.js": "6"}, "six", "")
	all := []string{"README.md", "services/api/main.go", "services/web/app.js"}

	// Within reach: only what changed.
	paths, _, err := gitChanged(ctx, r.URL, "main", from, to, Auth{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	gitWantPaths(t, paths, []string{"services/web/app.js"})

	// from is 5 commits back and the fetch goes 3 deep: every path of to
	// counts, so a caller filtering on services/api deploys anyway.
	paths, c, err := gitChanged(ctx, r.URL, "main", from, to, Auth{}, 3)
	if err != nil {
		t.Fatal(err)
	}
	gitWantPaths(t, paths, all)
	if c.SHA != to || c.Message != "six" {
		t.Errorf("commit = %+v, want %s \"six\"", c, to)
	}
	if !TouchesPaths(paths, []string{"services/api"}) {
		t.Error("out of reach: services/api should count as touched")
	}

	// A from that is not on the branch at all (a force-push dropped it)
	// is out of reach too.
	paths, _, err = Changed(ctx, r.URL, "main", strings.Repeat("ab", 20), to, Auth{})
	if err != nil {
		t.Fatal(err)
	}
	gitWantPaths(t, paths, all)
}

func TestGitChangedToOutOfReachFails(t *testing.T) {
	_, r := gitTestRepo(t)
	ctx := gitTestCtx(t)
	old := r.Commit(t, map[string]string{"a": "1"}, "old", "")
	for i := range 4 {
		r.Commit(t, map[string]string{"a": fmt.Sprint(i)}, "newer", "")
	}
	_, _, err := gitChanged(ctx, r.URL, "main", "", old, Auth{}, 2)
	if !errors.Is(err, errGitNotInHistory) || !strings.Contains(err.Error(), old) {
		t.Fatalf("err = %v, want one naming %s as not fetched", err, old)
	}
	_, _, err = Changed(ctx, r.URL, "main", "HEAD~1", "", Auth{})
	if err == nil || !strings.Contains(err.Error(), "not a commit SHA") {
		t.Fatalf("from HEAD~1: err = %v, want \"not a commit SHA\"", err)
	}
}

func TestGitCommitInfo(t *testing.T) {
	_, r := gitTestRepo(t)
	ctx := gitTestCtx(t)
	before := time.Now().Add(-time.Minute)
	first := r.Commit(t, map[string]string{"a": "1"}, "Add the API\n\nA longer body\nthat is not shown.", "Ada Lovelace <ada@example.com>")
	tip := r.Commit(t, map[string]string{"a": "2"}, "Fix the API", "Grace Hopper")
	for _, tc := range []struct {
		name, sha, wantSHA, author, message string
	}{
		{"tip", tip, tip, "Grace Hopper", "Fix the API"},
		{"tip by default", "", tip, "Grace Hopper", "Fix the API"},
		{"older commit", first, first, "Ada Lovelace", "Add the API"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := CommitInfo(ctx, r.URL, "main", tc.sha, Auth{})
			if err != nil {
				t.Fatal(err)
			}
			if c.SHA != tc.wantSHA || c.Author != tc.author || c.Message != tc.message {
				t.Errorf("got %+v, want %s by %q: %q", c, tc.wantSHA, tc.author, tc.message)
			}
			if c.When.Before(before) || c.When.After(time.Now().Add(time.Minute)) {
				t.Errorf("When = %s, want about now", c.When)
			}
		})
	}
	_, err := CommitInfo(ctx, r.URL, "main", strings.Repeat("cd", 20), Auth{})
	if !errors.Is(err, errGitNotInHistory) {
		t.Fatalf("unknown commit: err = %v", err)
	}
}

func TestTouchesPaths(t *testing.T) {
	changed := []string{"services/api2/main.go", "README.md", "services/web/src/app.js"}
	for _, tc := range []struct {
		name     string
		changed  []string
		prefixes []string
		want     bool
	}{
		{"no prefixes: everything counts", changed, nil, true},
		{"no prefixes and nothing changed (an empty commit) still counts", nil, nil, true},
		{"folder with trailing slash", changed, []string{"services/web/"}, true},
		{"folder without trailing slash", changed, []string{"services/web"}, true},
		{"deeper folder", changed, []string{"services/web/src"}, true},
		{"sibling with a longer name does not match", changed, []string{"services/api"}, false},
		{"sibling with a longer name, trailing slash", changed, []string{"services/api/"}, false},
		{"exact file", changed, []string{"README.md"}, true},
		{"file name is not a prefix of a longer one", changed, []string{"README"}, false},
		{"one of several prefixes", changed, []string{"infra", "services/web"}, true},
		{"none of several prefixes", changed, []string{"infra", "docs/"}, false},
		{"leading ./ and /", changed, []string{"./services/web", "/services/web/"}, true},
		{"root prefix means everything", changed, []string{"/"}, true},
		{"prefix but nothing changed", nil, []string{"services/web"}, false},
		{"the folder itself changed (a submodule)", []string{"services/api"}, []string{"services/api/"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := TouchesPaths(tc.changed, tc.prefixes); got != tc.want {
				t.Errorf("TouchesPaths(%q, %q) = %v, want %v", tc.changed, tc.prefixes, got, tc.want)
			}
		})
	}
}

func TestGitNotFoundErrorsNameRepoAndBranch(t *testing.T) {
	d, r := gitTestRepo(t)
	ctx := gitTestCtx(t)
	sha := r.Commit(t, map[string]string{"a": "1"}, "one", "")

	t.Run("branch", func(t *testing.T) {
		calls := map[string]func() error{
			"Head": func() error { _, err := Head(ctx, r.URL, "nope", Auth{}); return err },
			"Changed": func() error {
				_, _, err := Changed(ctx, r.URL, "nope", "", sha, Auth{})
				return err
			},
			"CommitInfo": func() error { _, err := CommitInfo(ctx, r.URL, "nope", sha, Auth{}); return err },
		}
		for name, call := range calls {
			err := call()
			if !errors.Is(err, errGitBranchNotFound) {
				t.Errorf("%s: err = %v, want branch not found", name, err)
				continue
			}
			if msg := err.Error(); !strings.Contains(msg, r.URL) || !strings.Contains(msg, "branch nope") {
				t.Errorf("%s: %q does not name the repository and the branch", name, msg)
			}
		}
	})

	t.Run("repository", func(t *testing.T) {
		missing := fmt.Sprintf("git://%s/missing.git", d.Addr)
		_, err := Head(ctx, missing, "main", Auth{})
		if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "branch main") {
			t.Fatalf("Head: err = %v, want one naming %s and branch main", err, missing)
		}
		_, _, err = Changed(ctx, missing, "main", "", "", Auth{})
		if err == nil || !strings.Contains(err.Error(), missing) {
			t.Fatalf("Changed: err = %v, want one naming %s", err, missing)
		}
		t.Logf("missing repository: %v", err)
	})

	t.Run("bad input", func(t *testing.T) {
		for _, tc := range []struct{ repo, branch, want string }{
			{r.URL, "", "no branch given"},
			{r.URL, "a..b", "not a valid branch name"},
			{r.URL, "x:y", "not a valid branch name"},
			{"", "main", "no repository given"},
		} {
			_, err := Head(ctx, tc.repo, tc.branch, Auth{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Head(%q, %q): err = %v, want %q", tc.repo, tc.branch, err, tc.want)
			}
		}
	})
}

func TestGitRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://github.com/acme/api.git", "https://github.com/acme/api.git"},
		{"https://alice:s3cret@github.com/acme/api.git", "https://***@github.com/acme/api.git"},
		{"https://ghp_token123@github.com/acme/api.git", "https://***@github.com/acme/api.git"},
		{"http://u:p@w@127.0.0.1:8080/x.git?y=1", "http://***@127.0.0.1:8080/x.git?y=1"},
		{"ssh://git@github.com/acme/api.git", "ssh://git@github.com/acme/api.git"},
		{"ssh://git:pw@github.com/acme/api.git", "ssh://git:***@github.com/acme/api.git"},
		{"git@github.com:acme/api.git", "git@github.com:acme/api.git"},
		{"git:pw@github.com:acme/api.git", "git:***@github.com:acme/api.git"},
		{"/srv/git/api.git", "/srv/git/api.git"},
	} {
		if got := gitRedact(tc.in); got != tc.want {
			t.Errorf("gitRedact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestGitOverHTTPWithCredentials(t *testing.T) {
	d, r := gitTestRepo(t)
	ctx := gitTestCtx(t)
	from := r.Commit(t, map[string]string{"a.txt": "1"}, "one", "")
	to := r.Commit(t, map[string]string{"b.txt": "2"}, "two", "")
	srv := d.ServeHTTP(t, "alice", "s3cret-pass")
	host := strings.TrimPrefix(srv.URL, "http://")
	plain := srv.URL + "/git/app.git"

	t.Run("credentials in the URL", func(t *testing.T) {
		u := "http://alice:s3cret-pass@" + host + "/git/app.git"
		head, err := Head(ctx, u, "main", Auth{})
		if err != nil || head != to {
			t.Fatalf("Head = %q, %v; want %s", head, err, to)
		}
		paths, c, err := Changed(ctx, u, "main", from, to, Auth{})
		if err != nil {
			t.Fatal(err)
		}
		gitWantPaths(t, paths, []string{"b.txt"})
		if c.Message != "two" {
			t.Errorf("commit %+v", c)
		}
	})
	t.Run("credentials in Auth", func(t *testing.T) {
		c, err := CommitInfo(ctx, plain, "main", from, Auth{Username: "alice", Password: "s3cret-pass"})
		if err != nil || c.SHA != from {
			t.Fatalf("CommitInfo = %+v, %v", c, err)
		}
	})
	t.Run("wrong credentials are redacted", func(t *testing.T) {
		for _, tc := range []struct {
			name, url string
			auth      Auth
			secrets   []string
		}{
			{"user and password in the URL", "http://alice:wrong-pass-1@" + host + "/git/app.git", Auth{}, []string{"wrong-pass-1"}},
			{"token as the URL's user", "http://tok_abcdef123@" + host + "/git/app.git", Auth{}, []string{"tok_abcdef123"}},
			{"password in Auth", plain, Auth{Username: "alice", Password: "wrong-pass-2"}, []string{"wrong-pass-2"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := Head(ctx, tc.url, "main", tc.auth)
				if !errors.Is(err, transport.ErrAuthenticationRequired) && !errors.Is(err, transport.ErrAuthorizationFailed) {
					t.Fatalf("err = %v, want authentication required", err)
				}
				_, _, err2 := Changed(ctx, tc.url, "main", "", "", tc.auth)
				for _, e := range []error{err, err2} {
					msg := fmt.Sprintf("%v %+v", e, e)
					for _, s := range tc.secrets {
						if strings.Contains(msg, s) {
							t.Errorf("error shows the secret %q: %s", s, msg)
						}
					}
					if !strings.Contains(msg, host+"/git/app.git") || !strings.Contains(msg, "branch main") {
						t.Errorf("error does not name the repository and branch: %s", msg)
					}
				}
				t.Logf("%v", err)
			})
		}
	})
	t.Run("unreachable https URL with a token", func(t *testing.T) {
		u := "https://x-access-token:ghs_SECRETSECRET@127.0.0.1:1/acme/api.git"
		_, err := Head(ctx, u, "main", Auth{})
		if err == nil {
			t.Fatal("no error from a closed port")
		}
		if msg := err.Error(); strings.Contains(msg, "ghs_SECRETSECRET") || strings.Contains(msg, "x-access-token") ||
			!strings.Contains(msg, "https://***@127.0.0.1:1/acme/api.git") {
			t.Errorf("error = %q, want the URL redacted as https://***@127.0.0.1:1/acme/api.git", msg)
		}
	})
}

func TestGitAuthHidesSecrets(t *testing.T) {
	a := Auth{Username: "alice", Password: "pa55word", SSHKey: []byte("-----BEGIN KEY-----"), SSHKeyPassphrase: "phrase!", KnownHosts: []byte("host key")}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(f, a)
		for _, s := range []string{"alice", "pa55word", "BEGIN", "phrase!"} {
			if strings.Contains(out, s) {
				t.Errorf("%s shows %q: %s", f, s, out)
			}
		}
	}
	if got := fmt.Sprint(Auth{}); got != "anonymous" {
		t.Errorf("zero Auth prints %q", got)
	}
}

func TestGitContextCancellation(t *testing.T) {
	// A server that accepts and never answers: only ctx can end the call.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	for _, repo := range []string{
		"git://" + l.Addr().String() + "/silent.git",
		"http://" + l.Addr().String() + "/silent.git",
	} {
		calls := map[string]func(context.Context) error{
			"Head": func(ctx context.Context) error { _, err := Head(ctx, repo, "main", Auth{}); return err },
			"Changed": func(ctx context.Context) error {
				_, _, err := Changed(ctx, repo, "main", "", "", Auth{})
				return err
			},
			"CommitInfo": func(ctx context.Context) error { _, err := CommitInfo(ctx, repo, "main", "", Auth{}); return err },
		}
		for name, call := range calls {
			t.Run(name+" "+strings.SplitN(repo, ":", 2)[0], func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(50*time.Millisecond, cancel)
				err := call(ctx)
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("err = %v, want context.Canceled", err)
				}
				if !strings.Contains(err.Error(), repo) {
					t.Errorf("error %q does not name %s", err, repo)
				}
			})
		}
	}
	t.Run("already cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := Head(ctx, "git://"+l.Addr().String()+"/x.git", "main", Auth{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

func TestGitLocalPath(t *testing.T) {
	_, r := gitTestRepo(t)
	ctx := gitTestCtx(t)
	from := r.Commit(t, map[string]string{"a": "1"}, "one", "")
	to := r.Commit(t, map[string]string{"b": "2"}, "two", "")
	for _, repo := range []string{r.Bare, "file://" + r.Bare} {
		head, err := Head(ctx, repo, "main", Auth{})
		if err != nil || head != to {
			t.Fatalf("Head(%s) = %q, %v; want %s", repo, head, err, to)
		}
		paths, _, err := Changed(ctx, repo, "main", from, to, Auth{})
		if err != nil {
			t.Fatal(err)
		}
		gitWantPaths(t, paths, []string{"b"})
	}
}

// gitSSHServer serves the daemon's repositories over ssh (git-upload-pack
// run for each exec request) on a loopback port, to clients holding
// clientKey. It returns the address and a known_hosts line for it.
func gitSSHServer(t *testing.T, base string, clientKey ssh.PublicKey) (addr string, knownHostsLine string) {
	t.Helper()
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if string(key.Marshal()) == string(clientKey.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
	}
	cfg.AddHostKey(hostSigner)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				gitServeSSHConn(c, cfg, base)
			}()
		}
	}()
	line := knownhosts.Line([]string{l.Addr().String()}, hostSigner.PublicKey())
	return l.Addr().String(), line
}

func gitServeSSHConn(c net.Conn, cfg *ssh.ServerConfig, base string) {
	defer c.Close()
	sc, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "session only")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			return
		}
		go func() {
			defer ch.Close()
			for req := range chReqs {
				if req.Type != "exec" || len(req.Payload) < 4 {
					req.Reply(false, nil)
					continue
				}
				command := string(req.Payload[4:])
				service, repo, _ := strings.Cut(command, " ")
				if service != "git-upload-pack" {
					req.Reply(false, nil)
					continue
				}
				req.Reply(true, nil)
				repo = strings.Trim(repo, "'\"")
				cmd := exec.Command("git", "upload-pack", filepath.Join(base, filepath.Clean("/"+repo)))
				cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
				status := 0
				if err := cmd.Run(); err != nil {
					status = 1
				}
				var payload [4]byte
				binary.BigEndian.PutUint32(payload[:], uint32(status))
				ch.SendRequest("exit-status", false, payload[:])
				return
			}
		}()
	}
}

func TestGitOverSSH(t *testing.T) {
	d, r := gitTestRepo(t)
	ctx := gitTestCtx(t)
	from := r.Commit(t, map[string]string{"a.txt": "1"}, "one", "")
	to := r.Commit(t, map[string]string{"a.txt": "2", "b.txt": "2"}, "two", "")

	clientPub, clientPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(clientPub)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKeyWithPassphrase(clientPriv, "", []byte("key-passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(block)
	addr, known := gitSSHServer(t, d.Dir, sshPub)
	repo := "ssh://git@" + addr + "/app.git"
	auth := Auth{SSHKey: keyPEM, SSHKeyPassphrase: "key-passphrase", KnownHosts: []byte(known + "\n")}

	t.Run("known host", func(t *testing.T) {
		head, err := Head(ctx, repo, "main", auth)
		if err != nil || head != to {
			t.Fatalf("Head = %q, %v; want %s", head, err, to)
		}
		paths, c, err := Changed(ctx, repo, "main", from, to, auth)
		if err != nil {
			t.Fatal(err)
		}
		gitWantPaths(t, paths, []string{"a.txt", "b.txt"})
		if c.Message != "two" {
			t.Errorf("commit %+v", c)
		}
	})
	t.Run("no known hosts: not checked", func(t *testing.T) {
		a := auth
		a.KnownHosts = nil
		if head, err := Head(ctx, repo, "main", a); err != nil || head != to {
			t.Fatalf("Head = %q, %v; want %s", head, err, to)
		}
	})
	t.Run("wrong host key", func(t *testing.T) {
		otherPub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		other, err := ssh.NewPublicKey(otherPub)
		if err != nil {
			t.Fatal(err)
		}
		a := auth
		a.KnownHosts = []byte(knownhosts.Line([]string{addr}, other) + "\n")
		_, err = Head(ctx, repo, "main", a)
		if err == nil {
			t.Fatal("a server whose host key is not the known one was trusted")
		}
		t.Logf("%v", err)
	})
	t.Run("host not in known hosts", func(t *testing.T) {
		a := auth
		_, key, _ := strings.Cut(known, " ")
		a.KnownHosts = []byte("[127.0.0.2]:22 " + key + "\n")
		if _, err := Head(ctx, repo, "main", a); err == nil {
			t.Fatal("a host missing from known hosts was trusted")
		}
	})
	t.Run("wrong passphrase", func(t *testing.T) {
		a := auth
		a.SSHKeyPassphrase = "not-the-passphrase"
		_, err := Head(ctx, repo, "main", a)
		if err == nil || strings.Contains(err.Error(), "not-the-passphrase") {
			t.Fatalf("err = %v, want an ssh key error without the passphrase", err)
		}
		t.Logf("%v", err)
	})
}

func TestGitOpenMovesCredentialsOutOfTheURL(t *testing.T) {
	for _, tc := range []struct {
		repo, wantURL, wantAuth string // wantAuth: go-git's description of it, "" for none
		auth                    Auth
	}{
		{repo: "https://github.com/acme/api.git", wantURL: "https://github.com/acme/api.git"},
		{repo: "https://alice:pw12@github.com/acme/api.git", wantURL: "https://github.com/acme/api.git", wantAuth: "http-basic-auth - alice:*******"},
		{repo: "https://tok123@github.com/acme/api.git", wantURL: "https://github.com/acme/api.git", wantAuth: "http-basic-auth - tok123:<empty>"},
		{repo: "https://github.com/acme/api.git", auth: Auth{Password: "tok123"}, wantURL: "https://github.com/acme/api.git", wantAuth: "http-basic-auth - git:*******"},
		{repo: "https://url-user:url-pw@github.com/a.git", auth: Auth{Username: "u", Password: "p"}, wantURL: "https://github.com/a.git", wantAuth: "http-basic-auth - u:*******"},
		{repo: "git@github.com:acme/api.git", wantURL: "git@github.com:acme/api.git"},
		{repo: "u:pw12@host:rel/x.git", wantURL: "u@host:rel/x.git", wantAuth: "user: u, name: ssh-password"},
		{repo: "ssh://u:pw12@host/x.git", wantURL: "ssh://u@host/x.git", wantAuth: "user: u, name: ssh-password"},
		{repo: "git://host/x.git", auth: Auth{Password: "ignored"}, wantURL: "git://host/x.git"},
		{repo: "/srv/git/x.git", wantURL: "/srv/git/x.git"},
	} {
		g, err := gitOpen(tc.repo, "main", tc.auth)
		if err != nil {
			t.Errorf("%s: %v", tc.repo, err)
			continue
		}
		gotAuth := ""
		if g.auth != nil {
			gotAuth = g.auth.String()
		}
		if g.url != tc.wantURL || gotAuth != tc.wantAuth {
			t.Errorf("%s: url %q auth %q, want %q %q", tc.repo, g.url, gotAuth, tc.wantURL, tc.wantAuth)
		}
	}
}
