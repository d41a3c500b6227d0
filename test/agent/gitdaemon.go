package agent

import (
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// GitDaemon is a running `git daemon` serving the bare repositories in Dir
// over git:// on a free loopback port, pushes included.
type GitDaemon struct {
	// Addr is where it listens, 127.0.0.1:port.
	Addr string
	// Dir holds the bare repositories it serves (its --base-path).
	Dir  string
	bin  string
	proc *process
}

// StartGitDaemon starts `git daemon` on a free loopback port with an empty
// temp folder as its base path, and waits until it accepts connections.
// Without git on PATH the test is skipped.
func StartGitDaemon(t testing.TB) *GitDaemon {
	t.Helper()
	bin := Require(t, "git")
	d := &GitDaemon{Dir: t.TempDir(), bin: bin}
	port := FreePorts(t, 1)[0]
	d.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	d.proc = start(t, "git daemon", bin, "daemon",
		"--reuseaddr",
		"--base-path="+d.Dir,
		"--export-all",
		"--enable=receive-pack",
		"--listen=127.0.0.1",
		fmt.Sprintf("--port=%d", port),
		d.Dir)
	waitFor(t, d.proc, 30*time.Second, func() error {
		c, err := net.DialTimeout("tcp", d.Addr, time.Second)
		if err != nil {
			return err
		}
		return c.Close()
	})
	return d
}

// Stop stops the daemon (t.Cleanup does it too).
func (d *GitDaemon) Stop() { d.proc.Stop() }

// GitRepo is a bare repository served by a GitDaemon, and a working clone
// of it to commit from.
type GitRepo struct {
	// URL is the repository as clients reach it,
	// git://127.0.0.1:port/<name>.git.
	URL string
	// Branch is the branch Commit pushes to ("main" unless changed); set it
	// to push the clone's history to another branch, a new one included.
	Branch string
	// Bare is the bare repository's folder; Work is the working clone's.
	Bare, Work string
	bin        string
}

// Removed, as a value in the files given to Commit, removes that path. A
// rename is the old path Removed and the new one with its content.
const Removed = "\x00removed"

// The identity every commit is made with, unless Commit is given an
// author.
const (
	GitCommitterName  = "Backplane Test"
	GitCommitterEmail = "test@backplane.invalid"
)

// NewRepo creates the bare repository <name>.git in the daemon's folder,
// with HEAD on main, and an empty working clone whose pushes go to it.
func (d *GitDaemon) NewRepo(t testing.TB, name string) *GitRepo {
	t.Helper()
	r := &GitRepo{
		URL:    fmt.Sprintf("git://%s/%s.git", d.Addr, name),
		Branch: "main",
		Bare:   filepath.Join(d.Dir, name+".git"),
		Work:   t.TempDir(),
		bin:    d.bin,
	}
	r.git(t, "", "init", "--quiet", "--bare", "--initial-branch=main", r.Bare)
	r.git(t, r.Work, "init", "--quiet", "--initial-branch=main")
	r.git(t, r.Work, "remote", "add", "origin", r.Bare)
	return r
}

// Commit writes files into the working clone (a value of Removed removes
// the path), commits everything as author ("Name <email>", or a bare name,
// which gets an example address; the fixed test identity when empty) with
// message, pushes HEAD to the bare repository's Branch, and returns the new
// commit's SHA. With no files it makes an empty commit.
func (r *GitRepo) Commit(t testing.TB, files map[string]string, message, author string) string {
	t.Helper()
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		full := filepath.Join(r.Work, filepath.FromSlash(p))
		if files[p] == Removed {
			r.git(t, r.Work, "rm", "--quiet", "--", p)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(files[p]), 0o644); err != nil {
			t.Fatal(err)
		}
		r.git(t, r.Work, "add", "--", p)
	}
	if author == "" {
		author = GitCommitterName + " <" + GitCommitterEmail + ">"
	} else if !strings.Contains(author, "<") {
		author += " <" + strings.ToLower(strings.Join(strings.Fields(author), ".")) + "@example.com>"
	}
	r.git(t, r.Work, "commit", "--quiet", "--allow-empty", "--no-verify", "--author="+author, "-m", message)
	r.git(t, r.Work, "push", "--quiet", "origin", "HEAD:refs/heads/"+r.Branch)
	return strings.TrimSpace(r.git(t, r.Work, "rev-parse", "HEAD"))
}

// git runs git in dir with no global or system config and the fixed test
// identity, and fails the test when it fails.
func (r *GitRepo) git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(r.bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME="+GitCommitterName,
		"GIT_AUTHOR_EMAIL="+GitCommitterEmail,
		"GIT_COMMITTER_NAME="+GitCommitterName,
		"GIT_COMMITTER_EMAIL="+GitCommitterEmail,
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// ServeHTTP serves the daemon's repositories over smart HTTP too, through
// `git http-backend`, at <URL>/git/<name>.git, asking for user:password
// (HTTP basic auth) when user is set. It stops with the test.
func (d *GitDaemon) ServeHTTP(t testing.TB, user, password string) *httptest.Server {
	t.Helper()
	out, err := exec.Command(d.bin, "--exec-path").Output()
	if err != nil {
		t.Fatalf("git --exec-path: %v", err)
	}
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(out)), "git-http-backend"),
		Root: "/git",
		Env:  []string{"GIT_PROJECT_ROOT=" + d.Dir, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1"},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if u, p, ok := req.BasicAuth(); user != "" && (!ok || u != user || p != password) {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	return srv
}
