package autodeploy

// Git access without a git binary: go-git over git://, http(s):// and
// ssh:// (and local paths, which go-git serves by running git-upload-pack,
// so those need git; tests use them, serve should not). Nothing is ever
// cloned to disk: each call fetches what it needs of one branch into
// memory, shallowly, and drops it when it returns.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
)

const (
	// gitFetchDepth is how many commits of a branch Changed and CommitInfo
	// fetch at most. It bounds the memory a fetch takes (roughly the
	// branch's files plus what changed in those commits) and the time.
	gitFetchDepth = 50
	// gitTimeout bounds one call's network work, whatever ctx allows.
	gitTimeout = 2 * time.Minute
	// gitTipRef is where a fetch stores the branch's tip in memory.
	gitTipRef = plumbing.ReferenceName("refs/backplane/tip")
	// gitDefaultUser is the HTTPS username sent with a Password alone (a
	// token) and the ssh user of a URL that names none.
	gitDefaultUser = "git"
)

// Auth is how to reach a private repository; the zero value is anonymous.
// Values come from Vault (a project secret) and never appear in errors or
// logs: String and GoString show only which fields are set.
//
// Only the fields that fit the URL are used: Username and Password for
// http(s):// (credentials written in the URL are used when these are
// empty), SSHKey for ssh:// and user@host:path. git:// and local paths
// take no credentials and ignore them.
type Auth struct {
	// Username and Password are HTTPS basic auth; a token goes in Password
	// (the username "git" is sent when Username is empty).
	Username, Password string
	// SSHKey is a PEM private key for ssh:// and git@host: URLs, and
	// SSHKeyPassphrase its passphrase when it is encrypted. Without a key,
	// ssh URLs use go-git's defaults: the ssh agent at SSH_AUTH_SOCK and
	// ~/.ssh/known_hosts.
	SSHKey           []byte
	SSHKeyPassphrase string
	// KnownHosts (known_hosts format) is checked against the ssh server's
	// host key. It is optional, but without it the host key is NOT
	// checked: anyone who can intercept the connection can pose as the
	// server, read what is fetched and feed back a commit of their choice
	// to deploy. Set it.
	KnownHosts []byte
}

// String shows which fields are set, never their values.
func (a Auth) String() string {
	var set []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"username", a.Username != ""},
		{"password", a.Password != ""},
		{"ssh key", len(a.SSHKey) > 0},
		{"ssh key passphrase", a.SSHKeyPassphrase != ""},
		{"known hosts", len(a.KnownHosts) > 0},
	} {
		if f.set {
			set = append(set, f.name)
		}
	}
	if len(set) == 0 {
		return "anonymous"
	}
	return strings.Join(set, ", ") + " set"
}

// GoString keeps %#v from printing the secrets too.
func (a Auth) GoString() string { return "autodeploy.Auth{" + a.String() + "}" }

// Commit is a commit's identity as the editor shows it.
type Commit struct {
	SHA     string
	Author  string // the author's name
	Message string // the first line of the message
	When    time.Time
}

// Head returns the commit SHA a branch points at (ls-remote, no clone).
func Head(ctx context.Context, repo, branch string, auth Auth) (string, error) {
	g, err := gitOpen(repo, branch, auth)
	if err != nil {
		return "", err
	}
	var refs []*plumbing.Reference
	err = gitDo(ctx, func(ctx context.Context) error {
		remote := git.NewRemote(memory.NewStorage(), g.remoteConfig())
		var err error
		refs, err = remote.ListContext(ctx, &git.ListOptions{Auth: g.auth})
		return err
	})
	if err != nil {
		return "", g.fail("ls-remote", err)
	}
	for _, ref := range refs {
		if ref.Name() == g.branch && ref.Type() == plumbing.HashReference {
			return ref.Hash().String(), nil
		}
	}
	return "", g.fail("ls-remote", errGitBranchNotFound)
}

// Changed fetches enough of the branch (shallowly, in memory) to list the
// paths changed between the commits from and to, sorted, and returns them
// with to's Commit. The list is never nil without an error: empty means
// nothing changed. A path that was removed, added or modified counts; a
// rename counts as both its old and its new path.
//
// from may be "" or all zeros (a new branch): then every path of to is
// listed. to may be "" for the branch's tip. to must be among the branch's
// last 50 commits (it is normally what Head just returned); otherwise
// Changed fails.
//
// When from is not among the branch's last 50 commits (more pushes than
// that since from, or a force-push that dropped it), the comparison is
// not possible within the fetch's bounds, and Changed lists every path of
// to, as for a new branch: a caller that filters by path then deploys, as
// it must when it cannot tell. Deploying once too often is harmless;
// missing a change is not.
func Changed(ctx context.Context, repo, branch, from, to string, auth Auth) ([]string, Commit, error) {
	return gitChanged(ctx, repo, branch, from, to, auth, gitFetchDepth)
}

func gitChanged(ctx context.Context, repo, branch, from, to string, auth Auth, maxDepth int) ([]string, Commit, error) {
	g, err := gitOpen(repo, branch, auth)
	if err != nil {
		return nil, Commit{}, err
	}
	newBranch := gitIsZero(from)
	if !newBranch && !plumbing.IsHash(from) {
		return nil, Commit{}, g.fail("diff", fmt.Errorf("from %q is not a commit SHA", from))
	}
	h := &gitHistory{g: g, maxDepth: maxDepth, storage: memory.NewStorage()}
	// A new branch needs only to's tree; a comparison needs from too, so it
	// fetches the whole allowance at once rather than in two round trips.
	depth := maxDepth
	if newBranch {
		depth = 1
	}
	if err := h.fetch(ctx, depth); err != nil {
		return nil, Commit{}, err
	}
	toCommit, err := h.commit(ctx, to)
	if err != nil {
		return nil, Commit{}, err
	}
	info := gitCommitInfo(toCommit)
	toTree, err := toCommit.Tree()
	if err != nil {
		return nil, Commit{}, g.fail("diff", fmt.Errorf("tree of %s: %w", toCommit.Hash, err))
	}
	if !newBranch {
		fromCommit, err := h.commit(ctx, from)
		switch {
		case err == nil:
			paths, err := gitDiffPaths(ctx, fromCommit, toTree)
			if err != nil {
				return nil, Commit{}, g.fail("diff", err)
			}
			return paths, info, nil
		case !errors.Is(err, errGitNotInHistory):
			return nil, Commit{}, err
		}
		// from is out of reach: fall through to every path of to.
	}
	paths, err := gitTreePaths(toTree)
	if err != nil {
		return nil, Commit{}, g.fail("diff", err)
	}
	return paths, info, nil
}

// CommitInfo reads one commit's author and message (fetching the branch
// shallowly: the tip alone when sha is the tip or "", else up to the last
// 50 commits, which must include sha).
func CommitInfo(ctx context.Context, repo, branch, sha string, auth Auth) (Commit, error) {
	g, err := gitOpen(repo, branch, auth)
	if err != nil {
		return Commit{}, err
	}
	h := &gitHistory{g: g, maxDepth: gitFetchDepth, storage: memory.NewStorage()}
	if err := h.fetch(ctx, 1); err != nil {
		return Commit{}, err
	}
	c, err := h.commit(ctx, sha)
	if err != nil {
		return Commit{}, err
	}
	return gitCommitInfo(c), nil
}

// TouchesPaths reports whether any changed path lies under one of the
// prefixes ("services/api/" or "services/api": both mean the folder, so
// services/api2 is not under it; "services/api/main.go" names one file).
// No prefixes (or an empty one, "." or "/") means everything counts: then
// it reports true even with nothing changed, so that an empty commit,
// pushed to trigger a deploy, still does.
func TouchesPaths(changed, prefixes []string) bool {
	if len(prefixes) == 0 {
		return true
	}
	for _, p := range prefixes {
		p = path.Clean("/" + strings.TrimSpace(p))[1:]
		if p == "" {
			return true
		}
		for _, c := range changed {
			c = strings.TrimPrefix(c, "/")
			if c == p || strings.HasPrefix(c, p+"/") {
				return true
			}
		}
	}
	return false
}

var (
	errGitBranchNotFound = errors.New("branch not found")
	errGitNotInHistory   = errors.New("not among the commits fetched")
)

// gitTarget is a repository and branch ready to dial: credentials moved
// out of the URL into auth, and the URL as errors show it.
type gitTarget struct {
	url     string // what go-git dials, with no credentials in it
	shown   string // the URL as errors show it, credentials redacted
	branch  plumbing.ReferenceName
	auth    transport.AuthMethod
	secrets []string // scrubbed from any error text, should one slip in
}

func gitOpen(repo, branch string, auth Auth) (*gitTarget, error) {
	g := &gitTarget{shown: gitRedact(repo)}
	b := strings.TrimPrefix(strings.TrimSpace(branch), "refs/heads/")
	g.branch = plumbing.NewBranchReferenceName(b)
	if b == "" {
		return nil, g.fail("open", errors.New("no branch given"))
	}
	if err := g.branch.Validate(); err != nil || strings.ContainsAny(b, "*:") {
		return nil, g.fail("open", fmt.Errorf("%q is not a valid branch name", branch))
	}
	if strings.TrimSpace(repo) == "" {
		return nil, g.fail("open", errors.New("no repository given"))
	}
	ep, err := transport.NewEndpoint(repo)
	if err != nil {
		return nil, g.fail("open", errors.New("not a repository URL or path"))
	}
	if ep.Protocol == "ssh" && ep.Password == "" && strings.Contains(ep.User, ":") {
		// user:password@host:path, which go-git reads as one user name.
		ep.User, ep.Password, _ = strings.Cut(ep.User, ":")
	}
	g.secrets = gitSecrets(ep, auth)
	if g.auth, err = gitAuthMethod(ep, auth); err != nil {
		return nil, g.fail("open", err)
	}
	g.url = gitStripCredentials(repo, ep)
	return g, nil
}

// gitStripCredentials returns repo without the credentials written in it
// (gitAuthMethod took them), so that go-git, and so its errors, never see
// them; a URL without any is returned as it is.
func gitStripCredentials(repo string, ep *transport.Endpoint) string {
	switch {
	case (ep.Protocol == "http" || ep.Protocol == "https") && (ep.User != "" || ep.Password != ""):
		ep.User, ep.Password = "", ""
		return ep.String()
	case ep.Password == "":
		return repo
	case strings.Contains(repo, "://"):
		ep.Password = ""
		return ep.String()
	default: // user:password@host:path keeps its form: the path is relative to the user's home
		return ep.User + repo[strings.Index(repo, "@"):]
	}
}

func (g *gitTarget) remoteConfig() *config.RemoteConfig {
	return &config.RemoteConfig{Name: "origin", URLs: []string{g.url}}
}

// gitError names the operation, the repository (credentials redacted) and
// the branch; its text is scrubbed of the credentials in use. Unwrap gives
// the cause for errors.Is (context.Canceled,
// transport.ErrRepositoryNotFound, transport.ErrAuthenticationRequired).
type gitError struct {
	op, repo, branch, msg string
	err                   error
}

func (e *gitError) Error() string {
	return fmt.Sprintf("git %s %s branch %s: %s", e.op, e.repo, e.branch, e.msg)
}

func (e *gitError) Unwrap() error { return e.err }

func (g *gitTarget) fail(op string, err error) error {
	msg := err.Error()
	for _, s := range g.secrets {
		msg = strings.ReplaceAll(msg, s, "***")
	}
	return &gitError{op: op, repo: g.shown, branch: g.branch.Short(), msg: msg, err: err}
}

// gitSecrets lists the credential strings that must never show in an
// error: passwords, keys' passphrases, and an HTTPS username given without
// a password (then it is a token).
func gitSecrets(ep *transport.Endpoint, a Auth) []string {
	var s []string
	add := func(v string) {
		if len(v) >= 4 {
			s = append(s, v)
		}
	}
	add(a.Password)
	add(ep.Password)
	add(a.SSHKeyPassphrase)
	if ep.Protocol == "http" || ep.Protocol == "https" {
		if ep.Password == "" {
			add(ep.User)
		}
		if a.Password == "" {
			add(a.Username)
		}
	}
	return s
}

// Redact returns a repository URL fit for an error or a log, without the
// credentials written in it (see gitRedact).
func Redact(repo string) string { return gitRedact(repo) }

// gitRedact returns repo fit for an error or a log: an http(s) URL's user
// info becomes "***" entirely (a token is often the username), and any
// other URL's password does.
func gitRedact(repo string) string {
	scheme, rest, ok := strings.Cut(repo, "://")
	if !ok {
		// user:password@host:path (scp-like); a local path is left alone.
		if at := strings.Index(repo, "@"); at > 0 && !strings.HasPrefix(repo, "/") && !strings.HasPrefix(repo, ".") {
			if user, _, ok := strings.Cut(repo[:at], ":"); ok {
				return user + ":***" + repo[at:]
			}
		}
		return repo
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return repo
	}
	userinfo, host := rest[:at], rest[at:]
	switch s := strings.ToLower(scheme); {
	case s == "http" || s == "https":
		userinfo = "***"
	default:
		if user, _, ok := strings.Cut(userinfo, ":"); ok {
			userinfo = user + ":***"
		}
	}
	return scheme + "://" + userinfo + host
}

// gitAuthMethod builds go-git's auth for the URL's protocol from a and the
// credentials written in the URL.
func gitAuthMethod(ep *transport.Endpoint, a Auth) (transport.AuthMethod, error) {
	switch ep.Protocol {
	case "http", "https":
		user, pass := a.Username, a.Password
		if user == "" && pass == "" {
			user, pass = ep.User, ep.Password
		}
		if user == "" && pass == "" {
			return nil, nil
		}
		if user == "" {
			user = gitDefaultUser
		}
		return &githttp.BasicAuth{Username: user, Password: pass}, nil
	case "ssh":
		user := ep.User
		if user == "" {
			user = gitDefaultUser
		}
		if len(a.SSHKey) == 0 && ep.Password == "" {
			return nil, nil // go-git's default: the ssh agent, ~/.ssh/known_hosts
		}
		hk, err := gitHostKeys(ep, a.KnownHosts)
		if err != nil {
			return nil, err
		}
		if len(a.SSHKey) == 0 {
			return &gitssh.Password{User: user, Password: ep.Password, HostKeyCallbackHelper: hk}, nil
		}
		keys, err := gitssh.NewPublicKeys(user, a.SSHKey, a.SSHKeyPassphrase)
		if err != nil {
			// The parse error names no secret; say which part failed.
			return nil, fmt.Errorf("ssh key: %w", err)
		}
		keys.HostKeyCallbackHelper = hk
		return keys, nil
	default: // git:// and local paths take no credentials
		return nil, nil
	}
}

// gitHostKeys checks the server's host key against knownHosts, offering
// the server only the key types listed for it; with no knownHosts it
// accepts any host key (see Auth.KnownHosts).
func gitHostKeys(ep *transport.Endpoint, knownHosts []byte) (gitssh.HostKeyCallbackHelper, error) {
	if len(knownHosts) == 0 {
		return gitssh.HostKeyCallbackHelper{HostKeyCallback: ssh.InsecureIgnoreHostKey()}, nil
	}
	// knownhosts reads files only; the file lives for the parse alone and
	// holds public keys, no secret.
	f, err := os.CreateTemp("", "backplane-known-hosts-*")
	if err != nil {
		return gitssh.HostKeyCallbackHelper{}, fmt.Errorf("known hosts: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(knownHosts)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return gitssh.HostKeyCallbackHelper{}, fmt.Errorf("known hosts: %w", err)
	}
	db, err := knownhosts.NewDB(f.Name())
	if err != nil {
		return gitssh.HostKeyCallbackHelper{}, fmt.Errorf("known hosts: %w", err)
	}
	port := ep.Port
	if port == 0 {
		port = 22
	}
	hostPort := ep.Host + ":" + strconv.Itoa(port)
	if strings.Contains(ep.Host, ":") {
		hostPort = "[" + ep.Host + "]:" + strconv.Itoa(port)
	}
	return gitssh.HostKeyCallbackHelper{
		HostKeyCallback:   db.HostKeyCallback(),
		HostKeyAlgorithms: db.HostKeyAlgorithms(hostPort),
	}, nil
}

// gitDo runs f, a go-git network operation, under ctx and gitTimeout, and
// returns as soon as ctx ends even where go-git does not watch it (dialing
// git:// does not): f then finishes in the background on its own, into
// storage nobody reads any more.
func gitDo(ctx context.Context, f func(ctx context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, gitTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// gitHistory is the part of one branch fetched so far, in memory.
type gitHistory struct {
	g        *gitTarget
	storage  *memory.Storage
	depth    int // how deep the last fetch went
	maxDepth int
	tip      plumbing.Hash
}

// fetch brings the branch's last depth commits into memory (deepening an
// earlier, shallower fetch).
func (h *gitHistory) fetch(ctx context.Context, depth int) error {
	spec := config.RefSpec("+" + h.g.branch.String() + ":" + gitTipRef.String())
	err := gitDo(ctx, func(ctx context.Context) error {
		remote := git.NewRemote(h.storage, h.g.remoteConfig())
		return remote.FetchContext(ctx, &git.FetchOptions{
			RefSpecs: []config.RefSpec{spec},
			Depth:    depth,
			Auth:     h.g.auth,
			Tags:     git.NoTags,
			Force:    true,
		})
	})
	if errors.Is(err, git.NoErrAlreadyUpToDate) {
		err = nil
	}
	if errors.Is(err, git.NoMatchingRefSpecError{}) {
		err = errGitBranchNotFound
	}
	if err != nil {
		return h.g.fail("fetch", err)
	}
	ref, err := h.storage.Reference(gitTipRef)
	if err != nil {
		return h.g.fail("fetch", fmt.Errorf("tip: %w", err))
	}
	h.tip, h.depth = ref.Hash(), depth
	return nil
}

// commit finds sha ("" for the tip) among the fetched commits, deepening
// the fetch up to maxDepth when it is not there yet. An error wrapping
// errGitNotInHistory says it is not within maxDepth of the tip.
func (h *gitHistory) commit(ctx context.Context, sha string) (*object.Commit, error) {
	hash := h.tip
	if sha != "" {
		if !plumbing.IsHash(sha) {
			return nil, h.g.fail("fetch", fmt.Errorf("%q is not a commit SHA", sha))
		}
		hash = plumbing.NewHash(sha)
	}
	for {
		c, err := object.GetCommit(h.storage, hash)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, plumbing.ErrObjectNotFound) {
			return nil, h.g.fail("fetch", fmt.Errorf("commit %s: %w", hash, err))
		}
		if h.depth >= h.maxDepth {
			return nil, h.g.fail("fetch", fmt.Errorf("commit %s: %w (the last %d of the branch)", hash, errGitNotInHistory, h.maxDepth))
		}
		if err := h.fetch(ctx, h.maxDepth); err != nil {
			return nil, err
		}
	}
}

func gitCommitInfo(c *object.Commit) Commit {
	msg, _, _ := strings.Cut(strings.TrimLeft(c.Message, "\r\n"), "\n")
	return Commit{
		SHA:     c.Hash.String(),
		Author:  c.Author.Name,
		Message: strings.TrimSpace(msg),
		When:    c.Author.When,
	}
}

// gitDiffPaths lists the paths that differ between from's tree and to,
// comparing tree entries' hashes only: no file is read.
func gitDiffPaths(ctx context.Context, from *object.Commit, to *object.Tree) ([]string, error) {
	fromTree, err := from.Tree()
	if err != nil {
		return nil, fmt.Errorf("tree of %s: %w", from.Hash, err)
	}
	changes, err := object.DiffTreeWithOptions(ctx, fromTree, to, nil)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	paths := []string{} // known to be empty, not unknown
	for _, c := range changes {
		for _, p := range []string{c.From.Name, c.To.Name} {
			if p != "" && !seen[p] {
				seen[p] = true
				paths = append(paths, p)
			}
		}
	}
	sort.Strings(paths)
	return paths, nil
}

// gitTreePaths lists every file (and submodule) path of a tree.
func gitTreePaths(tree *object.Tree) ([]string, error) {
	w := object.NewTreeWalker(tree, true, nil)
	defer w.Close()
	paths := []string{}
	for {
		name, entry, err := w.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, err
		}
		if entry.Mode == filemode.Dir {
			continue
		}
		paths = append(paths, name)
	}
	sort.Strings(paths)
	return paths, nil
}

// gitIsZero reports whether sha stands for no commit: "" or all zeros.
func gitIsZero(sha string) bool {
	return strings.Trim(strings.TrimSpace(sha), "0") == ""
}
