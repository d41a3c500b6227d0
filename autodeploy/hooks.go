package autodeploy

// Push webhooks: which provider sent one, whether its signature holds, and
// what the push says. Pure: no network, no clock, no store. The HTTP
// handler (in web) reads the body, calls VerifyHook, then ParseHook, and
// decides what to deploy.

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxHookBody is the largest webhook body, in bytes. The caller limits
// bodies to it before calling VerifyHook and ParseHook; ParseHook refuses
// a larger one.
const MaxHookBody = 1 << 20

// Signature errors. VerifyHook wraps them with the header concerned and
// what to do; the wrapped text never holds the secret, the header's value
// or the expected value.
var (
	// ErrNoSignature: the request carries no signature (or token) to check,
	// or does not say which provider sent it.
	ErrNoSignature = errors.New("webhook has no signature")
	// ErrBadSignature: a signature (or token) is there but does not match
	// the secret, or is not of the expected form.
	ErrBadSignature = errors.New("webhook signature does not match")
)

// Push is what a push webhook says, whichever provider sent it.
type Push struct {
	// Provider is "github", "gitlab", "gitea" (Forgejo too) or "generic".
	Provider string
	// DeliveryID is the provider's delivery ID, for replay protection; ""
	// when the request has none. GitHub: X-GitHub-Delivery; Gitea:
	// X-Gitea-Delivery; Forgejo: X-Forgejo-Delivery; GitLab:
	// Idempotency-Key, else X-Gitlab-Event-UUID, else
	// X-Gitlab-Webhook-UUID; generic: the body's "delivery".
	DeliveryID string
	// RepoURLs is every URL the payload knows the repository by (clone,
	// ssh, git, web), each once, none empty. Compare them through
	// NormalizeRepo.
	RepoURLs []string
	// Branch is "main" for "refs/heads/main". Never empty: ParseHook
	// ignores pushes of tags and other refs, with a reason.
	Branch string
	// Before and After are the commit SHAs before and after the push,
	// lowercase hex (40, or 64 for SHA-256 repositories). Before is all
	// zeros for a new branch, and "" only from a generic hook that leaves
	// it out. After is all zeros when the branch was deleted.
	Before, After string
	// Deleted is true when the push deleted the branch (After is all
	// zeros). The caller ignores such a push.
	Deleted bool
	// Files are the paths the pushed commits added, modified or removed,
	// sorted, each once; nil when the payload does not list them (then
	// compare Before and After in git).
	Files []string
	// FilesComplete is true only when Files is known to cover every change
	// from Before to After. It is false when the provider truncated the
	// commit list (GitLab lists the last 20, with total_commits_count;
	// Gitea lists FEED_MAX_COMMIT_NUM, 5 by default, with total_commits;
	// GitHub gives no total, so a list of 20 or more is taken as possibly
	// cut), for a new branch, a deletion, a GitHub force-push, and a push
	// that lists no commits. When it is false, the caller compares commits
	// in git rather than trust Files.
	FilesComplete bool
	// Pusher is the login (or else the name) of who pushed.
	Pusher string
	// Author and Message are the head commit's author name and the first
	// line of its message, when the payload has the head commit.
	Author, Message string
}

// hookSender is who sent a request, by its headers.
type hookSender struct {
	provider string // github, gitlab, gitea, generic
	name     string // as messages name it: GitHub, GitLab, Gitea, Forgejo, generic
	event    string // the event header's value
	delivery string
}

// hookDetect tells the provider from the event headers. Gitea and Forgejo
// also send GitHub's headers (X-GitHub-Event, X-Hub-Signature-256), so they
// are looked for first.
func hookDetect(h http.Header) (hookSender, bool) {
	first := func(names ...string) string {
		for _, n := range names {
			if v := strings.TrimSpace(h.Get(n)); v != "" {
				return v
			}
		}
		return ""
	}
	switch {
	case h.Get("X-Forgejo-Event") != "":
		return hookSender{"gitea", "Forgejo", strings.TrimSpace(h.Get("X-Forgejo-Event")), first("X-Forgejo-Delivery", "X-Gitea-Delivery")}, true
	case h.Get("X-Gitea-Event") != "":
		return hookSender{"gitea", "Gitea", strings.TrimSpace(h.Get("X-Gitea-Event")), first("X-Gitea-Delivery")}, true
	case h.Get("X-Gitlab-Event") != "":
		return hookSender{"gitlab", "GitLab", strings.TrimSpace(h.Get("X-Gitlab-Event")), first("Idempotency-Key", "X-Gitlab-Event-UUID", "X-Gitlab-Webhook-UUID")}, true
	case h.Get("X-GitHub-Event") != "":
		return hookSender{"github", "GitHub", strings.TrimSpace(h.Get("X-GitHub-Event")), first("X-GitHub-Delivery")}, true
	case h.Get("X-Backplane-Event") != "":
		return hookSender{"generic", "generic", strings.TrimSpace(h.Get("X-Backplane-Event")), ""}, true
	}
	return hookSender{}, false
}

const hookUnknownMsg = "none of X-GitHub-Event, X-Gitlab-Event, X-Gitea-Event, X-Forgejo-Event or X-Backplane-Event says which provider sent it"

// VerifyHook checks a webhook request's signature against the project's
// secret, in constant time, before anything in the body is trusted:
//
//   - GitHub: X-Hub-Signature-256 is "sha256=" and the hex HMAC-SHA256 of
//     the body (the raw body, form-encoded or not);
//   - Gitea and Forgejo: X-Gitea-Signature, X-Forgejo-Signature (Forgejo)
//     and X-Hub-Signature-256 carry the hex HMAC-SHA256 of the JSON
//     payload (the body, or its payload field when form-encoded: Gitea
//     signs the payload, not the form). Every one present must match;
//   - GitLab: X-Gitlab-Token is the secret itself (compared through
//     SHA-256 digests, so neither its content nor its length leaks);
//   - generic: X-Backplane-Signature is "sha256=" and the hex HMAC-SHA256
//     of the body.
//
// The provider is the one ParseHook sees, from the event headers. A
// missing signature is ErrNoSignature, a wrong one ErrBadSignature
// (errors.Is); an empty secret verifies nothing.
func VerifyHook(h http.Header, body []byte, secret []byte) error {
	s, ok := hookDetect(h)
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoSignature, hookUnknownMsg)
	}
	if len(secret) == 0 {
		return fmt.Errorf("%w: there is no secret to check it against", ErrBadSignature)
	}
	switch s.provider {
	case "github":
		return hookCheckHMAC(h, "X-Hub-Signature-256", "sha256=", body, secret,
			"GitHub sends X-Hub-Signature-256 when the webhook has a secret")
	case "generic":
		return hookCheckHMAC(h, "X-Backplane-Signature", "sha256=", body, secret,
			`sign the body: X-Backplane-Signature: sha256=<hex HMAC-SHA256 of the body with the project's secret>`)
	case "gitlab":
		return hookCheckToken(h, secret)
	default: // gitea
		signed, err := hookPayload(h, body)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrBadSignature, err)
		}
		return hookCheckGitea(h, s.name, signed, secret)
	}
}

// hookSignature returns a signature header's value with prefix removed,
// "" when the header is absent or empty (as Gitea sends it when the
// webhook has no secret), or an error when it is sent twice or lacks the
// prefix.
func hookSignature(h http.Header, name, prefix string) (string, error) {
	vals := h.Values(name)
	if len(vals) == 0 {
		return "", nil
	}
	if len(vals) > 1 {
		return "", fmt.Errorf("%w: %s is sent more than once", ErrBadSignature, name)
	}
	v := strings.TrimSpace(vals[0])
	if prefix != "" && v != "" {
		if len(v) < len(prefix) || !strings.EqualFold(v[:len(prefix)], prefix) {
			return "", fmt.Errorf("%w: %s is not of the form %s<hex>", ErrBadSignature, name, prefix)
		}
		v = v[len(prefix):]
	}
	return v, nil
}

// hookMatchHMAC reports whether sig (hex) is the HMAC-SHA256 of signed
// with secret, comparing in constant time.
func hookMatchHMAC(sig string, signed, secret []byte) bool {
	got, err := hex.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(signed)
	return hmac.Equal(got, mac.Sum(nil))
}

func hookCheckHMAC(h http.Header, name, prefix string, signed, secret []byte, hint string) error {
	sig, err := hookSignature(h, name, prefix)
	if err != nil {
		return err
	}
	if sig == "" {
		return fmt.Errorf("%w: no %s header (%s)", ErrNoSignature, name, hint)
	}
	if !hookMatchHMAC(sig, signed, secret) {
		return fmt.Errorf("%w (%s)", ErrBadSignature, name)
	}
	return nil
}

func hookCheckGitea(h http.Header, name string, signed, secret []byte) error {
	headers := []struct{ name, prefix string }{
		{"X-Forgejo-Signature", ""},
		{"X-Gitea-Signature", ""},
		{"X-Hub-Signature-256", "sha256="},
	}
	seen := 0
	for _, sh := range headers {
		sig, err := hookSignature(h, sh.name, sh.prefix)
		if err != nil {
			return err
		}
		if sig == "" {
			continue
		}
		seen++
		if !hookMatchHMAC(sig, signed, secret) {
			return fmt.Errorf("%w (%s)", ErrBadSignature, sh.name)
		}
	}
	if seen == 0 {
		return fmt.Errorf("%w: no X-Gitea-Signature header (%s signs the webhook when it has a secret)", ErrNoSignature, name)
	}
	return nil
}

func hookCheckToken(h http.Header, secret []byte) error {
	vals := h.Values("X-Gitlab-Token")
	if len(vals) == 0 || vals[0] == "" {
		return fmt.Errorf("%w: no X-Gitlab-Token header (GitLab sends it when the webhook has a secret token)", ErrNoSignature)
	}
	if len(vals) > 1 {
		return fmt.Errorf("%w: X-Gitlab-Token is sent more than once", ErrBadSignature)
	}
	if !hookTokenEqual([]byte(vals[0]), secret) {
		return fmt.Errorf("%w (X-Gitlab-Token)", ErrBadSignature)
	}
	return nil
}

// hookTokenEqual compares a token with the secret in constant time. It
// compares their SHA-256 digests, so the time taken depends on neither
// the content nor the length of either.
func hookTokenEqual(got, want []byte) bool {
	g, w := sha256.Sum256(got), sha256.Sum256(want)
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// hookPayload returns the JSON payload of a body: the body itself, or the
// payload field of a form-encoded body (GitHub's and Gitea's "form"
// content type). A form-typed body that starts with "{" is taken as JSON,
// as `curl -d '{…}'` sends.
func hookPayload(h http.Header, body []byte) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return body, nil
	}
	trimmed := strings.TrimSpace(string(body))
	if strings.HasPrefix(trimmed, "{") {
		return body, nil
	}
	form, err := url.ParseQuery(trimmed)
	if err != nil {
		return nil, fmt.Errorf("the form-encoded body does not decode: %v", err)
	}
	if !form.Has("payload") {
		return nil, errors.New(`the form-encoded body has no "payload" field`)
	}
	return []byte(form.Get("payload")), nil
}

// ParseHook reads a push webhook of GitHub, GitLab, Gitea, Forgejo or the
// generic form. It returns the push; or nil and the reason to ignore an
// event that is not a push to a branch (a ping, a tag push, an issue
// event…); or an error for a request it cannot read (no provider header,
// malformed JSON, a missing ref or after, a SHA that is not 40 or 64 hex
// digits), naming the field. A deleted branch is a Push with Deleted set.
// Call VerifyHook first: ParseHook trusts the body.
//
// Bodies are JSON, or form-encoded with the JSON in a payload field.
//
// The generic form is for CI systems and scripts:
//
//	POST /hooks/git/<project>
//	Content-Type: application/json
//	X-Backplane-Event: push
//	X-Backplane-Signature: sha256=<hex HMAC-SHA256 of the body, keyed with the project's webhook secret>
//
//	{
//	  "repo": "https://github.com/acme/api.git",
//	  "branch": "main",
//	  "sha": "<the pushed commit: 40 or 64 hex digits>",
//	  "before": "<the previous commit, optional>",
//	  "files": ["src/server.js"],
//	  "pusher": "ci",
//	  "author": "Ada Lovelace",
//	  "message": "Fix the login redirect",
//	  "delivery": "<a unique ID per push, optional: a repeated one is ignored>"
//	}
//
// repo, branch ("main" or "refs/heads/main") and sha are required. Leave
// files out when unknown; then the commits are compared in git. "deleted":
// true, or an all-zero sha, says the branch was deleted. With
// X-Backplane-Event other than push the request is ignored.
func ParseHook(h http.Header, body []byte) (p *Push, ignore string, err error) {
	if len(body) > MaxHookBody {
		return nil, "", fmt.Errorf("the webhook body is %d bytes, more than %d", len(body), MaxHookBody)
	}
	s, ok := hookDetect(h)
	if !ok {
		return nil, "", errors.New("unrecognised webhook: " + hookUnknownMsg)
	}
	switch s.provider {
	case "github":
		switch strings.ToLower(s.event) {
		case "push":
		case "ping":
			return nil, "GitHub ping: the webhook is set up", nil
		default:
			return nil, fmt.Sprintf("GitHub %s event is not a push", hookQuote(s.event)), nil
		}
	case "gitea":
		if !strings.EqualFold(s.event, "push") {
			return nil, fmt.Sprintf("%s %s event is not a push", s.name, hookQuote(s.event)), nil
		}
	case "gitlab":
		switch s.event {
		case "Push Hook", "System Hook": // a system hook says what it is in object_kind
		case "Tag Push Hook":
			return nil, "GitLab tag push: not a branch", nil
		default:
			return nil, fmt.Sprintf("GitLab %s event is not a push", hookQuote(s.event)), nil
		}
	case "generic":
		if !strings.EqualFold(s.event, "push") {
			return nil, fmt.Sprintf("X-Backplane-Event %s is not a push", hookQuote(s.event)), nil
		}
	}
	payload, err := hookPayload(h, body)
	if err != nil {
		return nil, "", fmt.Errorf("%s webhook: %w", s.name, err)
	}
	switch s.provider {
	case "gitlab":
		return hookParseGitLab(s, payload)
	case "generic":
		return hookParseGeneric(s, payload)
	default:
		return hookParseGitHubLike(s, payload)
	}
}

// hookPathError is a payload error naming the field at fault, in the
// schema's manner: "GitHub push payload: after: is required".
func hookPathError(s hookSender, field, format string, args ...any) error {
	return fmt.Errorf("%s push payload: %s: %s", s.name, field, fmt.Sprintf(format, args...))
}

func hookJSONError(s hookSender, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			return fmt.Errorf("%s push payload: is a JSON %s, want an object", s.name, te.Value)
		}
		return hookPathError(s, field, "is a JSON %s, want %s", te.Value, hookTypeName(te.Type))
	}
	return fmt.Errorf("%s push payload is not valid JSON: %v", s.name, err)
}

// hookTypeName says in JSON's terms what a Go field takes.
func hookTypeName(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.Slice:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Int, reflect.Int64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	}
	return "another type"
}

// hookQuote quotes a payload value for an error, cut to a readable length.
func hookQuote(v string) string {
	if len(v) > 80 {
		cut := 80
		for cut > 0 && !utf8.RuneStart(v[cut]) {
			cut--
		}
		v = v[:cut] + "…"
	}
	return fmt.Sprintf("%q", v)
}

// hookSHA checks and lowercases a commit SHA.
func hookSHA(s hookSender, field, v string, required bool) (string, error) {
	if v == "" {
		if required {
			return "", hookPathError(s, field, "is required")
		}
		return "", nil
	}
	if len(v) != 40 && len(v) != 64 {
		return "", hookPathError(s, field, "%s is not a commit SHA (40 or 64 hex digits)", hookQuote(v))
	}
	if _, err := hex.DecodeString(v); err != nil {
		return "", hookPathError(s, field, "%s is not a commit SHA (40 or 64 hex digits)", hookQuote(v))
	}
	return strings.ToLower(v), nil
}

func hookZero(sha string) bool {
	return sha != "" && strings.Trim(sha, "0") == ""
}

// hookBranch returns the branch a ref names, or the reason to ignore it.
func hookBranch(s hookSender, ref string) (branch, ignore string, err error) {
	switch {
	case ref == "":
		return "", "", hookPathError(s, "ref", "is required")
	case strings.HasPrefix(ref, "refs/heads/") && len(ref) > len("refs/heads/"):
		return strings.TrimPrefix(ref, "refs/heads/"), "", nil
	case strings.HasPrefix(ref, "refs/tags/"):
		return "", fmt.Sprintf("%s tag push %s: not a branch", s.name, hookQuote(ref)), nil
	}
	return "", fmt.Sprintf("%s push to %s: not a branch", s.name, hookQuote(ref)), nil
}

// hookFirstLine is a commit message's subject.
func hookFirstLine(msg string) string {
	line, _, _ := strings.Cut(msg, "\n")
	return strings.TrimSpace(line)
}

// hookURLs collects the non-empty URLs, each once, in order.
func hookURLs(urls ...string) []string {
	var out []string
	seen := map[string]bool{}
	for _, u := range urls {
		u = strings.TrimSpace(u)
		if u == "" || seen[u] {
			continue
		}
		seen[u] = true
		out = append(out, u)
	}
	return out
}

// hookCommit is a commit as GitHub, Gitea and GitLab list them.
type hookCommit struct {
	ID      string `json:"id"`
	Message string `json:"message"`
	Author  struct {
		Name     string `json:"name"`
		Username string `json:"username"`
	} `json:"author"`
	// Pointers tell a commit that lists no files of a kind ([]) from one
	// that does not say (absent or null).
	Added    *[]string `json:"added"`
	Removed  *[]string `json:"removed"`
	Modified *[]string `json:"modified"`
}

// hookGitHubCap is the commit count from which a GitHub list is taken as
// possibly cut: GitHub's payload has no total, its documentation has
// stated both 20 and 2048 as the cap, and timeline events stop at 20.
const hookGitHubCap = 20

// hookFileCap is the number of paths in one commit's list from which the
// list is taken as possibly cut (GitHub caps large ones, undocumented).
const hookFileCap = 3000

// hookFiles gathers the paths the commits touch. ok is false when the
// list cannot be trusted whole: no commits, or a commit that does not
// list its files, or a list long enough to have been cut.
func hookFiles(commits []hookCommit) (files []string, ok bool) {
	if len(commits) == 0 {
		return nil, false
	}
	seen := map[string]bool{}
	ok = true
	for _, c := range commits {
		if c.Added == nil && c.Removed == nil && c.Modified == nil {
			return nil, false
		}
		for _, list := range []*[]string{c.Added, c.Removed, c.Modified} {
			if list == nil {
				continue
			}
			if len(*list) >= hookFileCap {
				ok = false
			}
			for _, f := range *list {
				if f != "" {
					seen[f] = true
				}
			}
		}
	}
	files = make([]string, 0, len(seen))
	for f := range seen {
		files = append(files, f)
	}
	sort.Strings(files)
	return files, ok
}

// hookHead finds the head commit in the list when the payload has no
// separate head_commit.
func hookHead(head *hookCommit, commits []hookCommit, after string) *hookCommit {
	if head != nil && head.ID != "" {
		return head
	}
	for i := range commits {
		if strings.EqualFold(commits[i].ID, after) {
			return &commits[i]
		}
	}
	return nil
}

// hookFinish fills in what every provider shares: SHAs, deletion, head
// commit, files.
func hookFinish(s hookSender, p *Push, before, after string, beforeRequired, deleted bool, head *hookCommit, commits []hookCommit) error {
	var err error
	if p.After, err = hookSHA(s, "after", after, true); err != nil {
		return err
	}
	if p.Before, err = hookSHA(s, "before", before, beforeRequired); err != nil {
		return err
	}
	p.Deleted = deleted || hookZero(p.After)
	if p.Deleted {
		return nil
	}
	if c := hookHead(head, commits, p.After); c != nil {
		p.Author, p.Message = c.Author.Name, hookFirstLine(c.Message)
	}
	p.Files, p.FilesComplete = hookFiles(commits)
	if p.Before == "" || hookZero(p.Before) {
		// A new branch: the list is relative to some other branch.
		p.FilesComplete = false
	}
	return nil
}

// hookGitHubPayload is a push as GitHub sends it; Gitea and Forgejo send
// the same shape with a few fields of their own.
type hookGitHubPayload struct {
	Ref        string `json:"ref"`
	Before     string `json:"before"`
	After      string `json:"after"`
	Deleted    bool   `json:"deleted"`
	Forced     bool   `json:"forced"`
	Repository *struct {
		CloneURL string `json:"clone_url"`
		SSHURL   string `json:"ssh_url"`
		GitURL   string `json:"git_url"`
		HTMLURL  string `json:"html_url"`
		URL      string `json:"url"`
	} `json:"repository"`
	Pusher *hookUser `json:"pusher"`
	Sender *hookUser `json:"sender"`
	// Gitea: how many commits the push has; the list holds at most
	// FEED_MAX_COMMIT_NUM of them.
	TotalCommits *int         `json:"total_commits"`
	HeadCommit   *hookCommit  `json:"head_commit"`
	Commits      []hookCommit `json:"commits"`
}

// hookUser is a pusher or sender: GitHub's pusher has name (the login)
// and email; Gitea's has login, username and full_name.
type hookUser struct {
	Login    string `json:"login"`
	Username string `json:"username"`
	Name     string `json:"name"`
	FullName string `json:"full_name"`
}

func (u *hookUser) who() string {
	if u == nil {
		return ""
	}
	for _, v := range []string{u.Login, u.Username, u.Name, u.FullName} {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

func hookParseGitHubLike(s hookSender, payload []byte) (*Push, string, error) {
	var b hookGitHubPayload
	if err := json.Unmarshal(payload, &b); err != nil {
		return nil, "", hookJSONError(s, err)
	}
	branch, ignore, err := hookBranch(s, b.Ref)
	if branch == "" {
		return nil, ignore, err
	}
	p := &Push{Provider: s.provider, DeliveryID: s.delivery, Branch: branch}
	if b.Repository != nil {
		r := b.Repository
		if s.provider == "github" {
			// GitHub's url is the web page in a push payload.
			p.RepoURLs = hookURLs(r.CloneURL, r.SSHURL, r.GitURL, r.HTMLURL, r.URL)
		} else {
			// Gitea's url is its API's.
			p.RepoURLs = hookURLs(r.CloneURL, r.SSHURL, r.HTMLURL)
		}
	}
	if len(p.RepoURLs) == 0 {
		return nil, "", hookPathError(s, "repository", "has no URL (clone_url, ssh_url, html_url)")
	}
	p.Pusher = b.Pusher.who()
	if p.Pusher == "" {
		p.Pusher = b.Sender.who()
	}
	if err := hookFinish(s, p, b.Before, b.After, true, b.Deleted, b.HeadCommit, b.Commits); err != nil {
		return nil, "", err
	}
	if p.Deleted {
		return p, "", nil
	}
	switch s.provider {
	case "github":
		if b.Forced || len(b.Commits) >= hookGitHubCap {
			// A force-push may have dropped commits the list does not show.
			p.FilesComplete = false
		}
	case "gitea":
		if b.TotalCommits == nil || *b.TotalCommits > len(b.Commits) {
			// Without total_commits (before Gitea 1.18) a cut list looks
			// whole.
			p.FilesComplete = false
		}
	}
	return p, "", nil
}

// hookGitLabPayload is a push as GitLab sends it (project and system
// hooks alike).
type hookGitLabPayload struct {
	ObjectKind   string `json:"object_kind"`
	EventName    string `json:"event_name"`
	Ref          string `json:"ref"`
	Before       string `json:"before"`
	After        string `json:"after"`
	CheckoutSHA  string `json:"checkout_sha"`
	UserName     string `json:"user_name"`
	UserUsername string `json:"user_username"`
	Project      *struct {
		GitHTTPURL string `json:"git_http_url"`
		GitSSHURL  string `json:"git_ssh_url"`
		WebURL     string `json:"web_url"`
		HTTPURL    string `json:"http_url"`
		SSHURL     string `json:"ssh_url"`
	} `json:"project"`
	Repository *struct {
		GitHTTPURL string `json:"git_http_url"`
		GitSSHURL  string `json:"git_ssh_url"`
		Homepage   string `json:"homepage"`
		URL        string `json:"url"`
	} `json:"repository"`
	Commits           []hookCommit `json:"commits"`
	TotalCommitsCount *int         `json:"total_commits_count"`
}

func hookParseGitLab(s hookSender, payload []byte) (*Push, string, error) {
	var b hookGitLabPayload
	if err := json.Unmarshal(payload, &b); err != nil {
		return nil, "", hookJSONError(s, err)
	}
	kind := b.ObjectKind
	if kind == "" {
		kind = b.EventName
	}
	switch {
	case kind == "push", kind == "" && s.event == "Push Hook":
	case kind == "tag_push":
		return nil, "GitLab tag push: not a branch", nil
	case kind == "":
		return nil, fmt.Sprintf("GitLab %s without an object_kind is not a push", hookQuote(s.event)), nil
	default:
		return nil, fmt.Sprintf("GitLab %s event is not a push", hookQuote(kind)), nil
	}
	branch, ignore, err := hookBranch(s, b.Ref)
	if branch == "" {
		return nil, ignore, err
	}
	p := &Push{Provider: s.provider, DeliveryID: s.delivery, Branch: branch}
	var urls []string
	if pr := b.Project; pr != nil {
		urls = append(urls, pr.GitHTTPURL, pr.GitSSHURL, pr.WebURL, pr.HTTPURL, pr.SSHURL)
	}
	if r := b.Repository; r != nil {
		urls = append(urls, r.GitHTTPURL, r.GitSSHURL, r.Homepage, r.URL)
	}
	if p.RepoURLs = hookURLs(urls...); len(p.RepoURLs) == 0 {
		return nil, "", hookPathError(s, "project", "has no URL (git_http_url, git_ssh_url, web_url)")
	}
	p.Pusher = strings.TrimSpace(b.UserUsername)
	if p.Pusher == "" {
		p.Pusher = strings.TrimSpace(b.UserName)
	}
	if err := hookFinish(s, p, b.Before, b.After, true, false, nil, b.Commits); err != nil {
		return nil, "", err
	}
	if !p.Deleted && (b.TotalCommitsCount == nil || *b.TotalCommitsCount > len(b.Commits)) {
		// GitLab lists the last 20 commits of a push.
		p.FilesComplete = false
	}
	return p, "", nil
}

// hookGenericPayload is the generic form (see ParseHook).
type hookGenericPayload struct {
	Repo     string    `json:"repo"`
	Branch   string    `json:"branch"`
	SHA      string    `json:"sha"`
	Before   string    `json:"before"`
	Deleted  bool      `json:"deleted"`
	Files    *[]string `json:"files"`
	Pusher   string    `json:"pusher"`
	Author   string    `json:"author"`
	Message  string    `json:"message"`
	Delivery string    `json:"delivery"`
}

func hookParseGeneric(s hookSender, payload []byte) (*Push, string, error) {
	var b hookGenericPayload
	if err := json.Unmarshal(payload, &b); err != nil {
		return nil, "", hookJSONError(s, err)
	}
	if strings.TrimSpace(b.Repo) == "" {
		return nil, "", hookPathError(s, "repo", "is required")
	}
	if NormalizeRepo(b.Repo) == "" {
		return nil, "", hookPathError(s, "repo", "%s is not a git URL (https://…, ssh://…, git@host:path)", hookQuote(b.Repo))
	}
	ref := b.Branch
	if ref == "" {
		return nil, "", hookPathError(s, "branch", "is required")
	}
	if !strings.HasPrefix(ref, "refs/") {
		ref = "refs/heads/" + ref
	}
	branch, ignore, err := hookBranch(s, ref)
	if branch == "" {
		return nil, ignore, err
	}
	p := &Push{
		Provider:   s.provider,
		DeliveryID: strings.TrimSpace(b.Delivery),
		RepoURLs:   []string{strings.TrimSpace(b.Repo)},
		Branch:     branch,
		Pusher:     strings.TrimSpace(b.Pusher),
		Author:     strings.TrimSpace(b.Author),
		Message:    hookFirstLine(b.Message),
	}
	if p.After, err = hookSHA(s, "sha", b.SHA, true); err != nil {
		return nil, "", err
	}
	if p.Before, err = hookSHA(s, "before", b.Before, false); err != nil {
		return nil, "", err
	}
	p.Deleted = b.Deleted || hookZero(p.After)
	if p.Deleted {
		p.Author, p.Message = "", ""
		return p, "", nil
	}
	if b.Files != nil {
		// The sender lists the files itself: take them as complete.
		seen := map[string]bool{}
		p.Files = []string{}
		for _, f := range *b.Files {
			if f != "" && !seen[f] {
				seen[f] = true
				p.Files = append(p.Files, f)
			}
		}
		sort.Strings(p.Files)
		p.FilesComplete = true
	}
	return p, "", nil
}

// NormalizeRepo turns a repository URL into a key that compares equal for
// the same repository written in any of the forms a schema's source.repo
// or a webhook payload uses:
//
//	https://github.com/Acme/API.git    → github.com/acme/api
//	git@github.com:acme/api.git        → github.com/acme/api
//	ssh://git@github.com:22/acme/api   → github.com/acme/api
//	http://gitlab.example.com/acme/api → gitlab.example.com/acme/api
//	ssh://git@gitea.local:2222/a/b.git → gitea.local:2222/a/b
//	git://127.0.0.1:9418/api.git       → 127.0.0.1:9418/api
//
// The key is host, then path, without the scheme, user, password, query,
// fragment, trailing slashes or ".git". It is lowercase throughout: GitHub,
// GitLab, Gitea and Forgejo treat owner and repository names without
// regard to case, and a schema may spell them otherwise than the payload.
// The scheme's default port is dropped (https 443, http 80, ssh and
// scp-like 22), so http, https and ssh forms of one repository on
// default ports meet; any other port is kept, as it names a different
// server. git:// always keeps its port (9418 when none is written), so a
// git daemon's repository never meets an http one of the same path.
//
// It returns "" for anything that is not a git URL (no host, no path, an
// unknown scheme such as file://, a local path, spaces or control
// characters, invalid UTF-8); callers must not match "" with "".
func NormalizeRepo(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" || !utf8.ValidString(raw) {
		return ""
	}
	var host, port, path string
	if scheme, rest, ok := strings.Cut(raw, "://"); ok {
		var defPort string
		switch strings.ToLower(scheme) {
		case "https":
			defPort = "443"
		case "http":
			defPort = "80"
		case "ssh", "git+ssh", "ssh+git":
			defPort = "22"
		case "git":
			defPort = "" // kept, see below
		default:
			return ""
		}
		if i := strings.IndexAny(rest, "?#"); i >= 0 {
			rest = rest[:i]
		}
		authority, p, _ := strings.Cut(rest, "/")
		path = p
		if i := strings.LastIndex(authority, "@"); i >= 0 {
			authority = authority[i+1:]
		}
		var ok bool
		if host, port, ok = hookSplitHostPort(authority); !ok {
			return ""
		}
		if strings.EqualFold(scheme, "git") {
			if port == "" {
				port = "9418"
			}
		} else if port == defPort {
			port = ""
		}
	} else {
		// scp-like: [user@]host:path, with no slash before the colon.
		colon := hookSCPColon(raw)
		if colon < 0 {
			return ""
		}
		authority := raw[:colon]
		path = raw[colon+1:]
		if i := strings.LastIndex(authority, "@"); i >= 0 {
			authority = authority[i+1:]
		}
		if strings.HasPrefix(authority, "[") && strings.HasSuffix(authority, "]") {
			authority = authority[1 : len(authority)-1]
		}
		host = authority
		if !hookValidHost(host) {
			return ""
		}
	}
	path = hookCleanPath(path)
	if path == "" {
		return ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	key := host
	if port != "" {
		key += ":" + port
	}
	return strings.ToLower(key + "/" + path)
}

// hookSCPColon is where an scp-like URL's host ends, or -1 when raw is
// not one: git takes host:path only when no slash comes before the first
// colon (outside an IPv6 literal's brackets).
func hookSCPColon(raw string) int {
	start := 0
	at := strings.Index(raw, "@[")
	if strings.HasPrefix(raw, "[") || at >= 0 && !strings.ContainsAny(raw[:at], "/:") {
		end := strings.Index(raw, "]")
		if end < 0 {
			return -1
		}
		start = end
	}
	colon := strings.Index(raw[start:], ":")
	if colon < 0 {
		return -1
	}
	colon += start
	if strings.Contains(raw[:colon], "/") {
		return -1
	}
	return colon
}

// hookSplitHostPort splits a URL's host[:port]; ok is false for an empty
// or invalid host or a port that is not a number.
func hookSplitHostPort(a string) (host, port string, ok bool) {
	if strings.HasPrefix(a, "[") {
		end := strings.Index(a, "]")
		if end < 0 {
			return "", "", false
		}
		host, rest := a[1:end], a[end+1:]
		if rest != "" {
			if !strings.HasPrefix(rest, ":") {
				return "", "", false
			}
			port = rest[1:]
		}
		if !strings.Contains(host, ":") || !hookValidHost(host) || !hookValidPort(&port) {
			return "", "", false
		}
		return host, port, true
	}
	host, port, _ = strings.Cut(a, ":")
	if strings.Contains(port, ":") || !hookValidHost(host) || !hookValidPort(&port) {
		return "", "", false
	}
	return host, port, true
}

// hookValidPort accepts "" or 1–5 digits, dropping leading zeros.
func hookValidPort(port *string) bool {
	p := *port
	if p == "" {
		return true
	}
	if len(p) > 5 {
		return false
	}
	for _, c := range p {
		if c < '0' || c > '9' {
			return false
		}
	}
	p = strings.TrimLeft(p, "0")
	if p == "" {
		return false
	}
	*port = p
	return true
}

// hookValidHost accepts DNS names, IPv4 and (unbracketed) IPv6 literals.
func hookValidHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for _, c := range h {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '.' || c == '_' || c == ':':
		default:
			return false
		}
	}
	return true
}

// hookCleanPath lowercases a path and drops slashes at either end and
// doubled, and ".git" at the end; it returns "" for a path with spaces, control characters, a
// backslash or what a URL would read as a query or fragment.
func hookCleanPath(p string) string {
	for _, c := range p {
		if unicode.IsSpace(c) || unicode.IsControl(c) || c == '\\' || c == '?' || c == '#' {
			return ""
		}
	}
	parts := strings.Split(strings.ToLower(p), "/")
	kept := parts[:0]
	for _, s := range parts {
		if s != "" {
			kept = append(kept, s)
		}
	}
	p = strings.Join(kept, "/")
	for strings.HasSuffix(p, ".git") {
		p = strings.TrimSuffix(strings.TrimSuffix(p, ".git"), "/")
	}
	return p
}
