package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// credentials are what `backplane login` stores, in
// $XDG_CONFIG_HOME/backplane/credentials.json (or ~/.config/...), mode 0600.
type credentials struct {
	Server string `json:"server"`
	Token  string `json:"token"`
	// User and TokenID are informational: who signed in, and the token's
	// ID on the server, so logout can revoke it.
	User    string `json:"user,omitempty"`
	TokenID int64  `json:"token_id,omitempty"`
}

// credentialsPath is where login stores the credentials.
func credentialsPath() (string, error) {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the config folder: %w (set XDG_CONFIG_HOME)", err)
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "backplane", "credentials.json"), nil
}

// loadCredentials reads the stored credentials; nil when there are none.
func loadCredentials() (*credentials, string, error) {
	path, err := credentialsPath()
	if err != nil {
		return nil, "", err
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, path, nil
	}
	if err != nil {
		return nil, path, fmt.Errorf("read credentials: %w", err)
	}
	var c credentials
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, path, fmt.Errorf("read credentials %s: %w (run backplane logout, then login)", path, err)
	}
	if c.Server == "" {
		return nil, path, nil
	}
	return &c, path, nil
}

// saveCredentials writes the credentials readable by their owner only,
// replacing the file atomically.
func saveCredentials(c credentials) (string, error) {
	path, err := credentialsPath()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("store credentials: %w", err)
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".credentials-*.json")
	if err != nil {
		return "", fmt.Errorf("store credentials: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", fmt.Errorf("store credentials: %w", err)
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return "", fmt.Errorf("store credentials: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("store credentials: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("store credentials: %w", err)
	}
	return path, nil
}

// apiUser is the User of the API.
type apiUser struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	ServerAdmin bool   `json:"server_admin"`
}

// me is GET /auth/me.
type me struct {
	User      apiUser `json:"user"`
	Auth      string  `json:"auth"`
	CSRFToken string  `json:"csrf_token"`
	Projects  []struct {
		Project string `json:"project"`
		Role    string `json:"role"`
	} `json:"projects"`
}

// apiToken is the Token of the API.
type apiToken struct {
	ID        int64   `json:"id"`
	Name      string  `json:"name"`
	Prefix    string  `json:"prefix"`
	Project   string  `json:"project"`
	Role      string  `json:"role"`
	RevokedAt *string `json:"revoked_at"`
}

// roleRank orders the project roles; -1 for an unknown one.
func roleRank(r string) int {
	switch r {
	case "viewer":
		return 0
	case "editor":
		return 1
	case "deployer":
		return 2
	case "admin":
		return 3
	}
	return -1
}

// highestRole is the highest role the user has anywhere: a server admin is
// admin everywhere. A token may not be created above it.
func (m *me) highestRole() string {
	if m.User.ServerAdmin {
		return "admin"
	}
	best := "viewer"
	for _, p := range m.Projects {
		if roleRank(p.Role) > roleRank(best) {
			best = p.Role
		}
	}
	return best
}

func (u apiUser) String() string {
	if u.DisplayName != "" && u.DisplayName != u.Name {
		return fmt.Sprintf("%s (%s)", u.Name, u.DisplayName)
	}
	return u.Name
}

func (a *app) loginCmd() *cobra.Command {
	var server, name, expires string
	var tokenStdin bool
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in to a Backplane server, so the cluster commands go through it",
		Long: `Login signs in to a Backplane server with your name and password (asked
for on the terminal, or read as two lines from stdin), creates a personal API
token named cli@<host> with your highest role, stores the server and the
token in $XDG_CONFIG_HOME/backplane/credentials.json (~/.config/... by
default; readable by you only), and signs the session out again.

From then on plan, deploy, status, rollback, destroy and secrets go through
the server's API, so its roles and audit log apply, with the same output and
exit codes as when they talk to Nomad directly. The project is the schema's
project:. BACKPLANE_SERVER and BACKPLANE_TOKEN override the stored
credentials (for CI); --server= or BACKPLANE_SERVER= (set and empty) talks
to Nomad directly.

With --token-stdin, login stores a token read from stdin (one created in
the editor, say) after checking it with the server. The token's role is
fixed when it is created: after a promotion, run login again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if server == "" {
				server = os.Getenv(envServer)
			}
			if server == "" {
				if c, _, err := loadCredentials(); err == nil && c != nil {
					server = c.Server
				}
			}
			if server == "" {
				return &exitError{code: exitUsage, err: errors.New("login: --server is required (the Backplane server's URL, as https://backplane.example.com)")}
			}
			s, err := normalizeServer(server)
			if err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("login: %w", err)}
			}
			if u, _ := url.Parse(s); u != nil && u.Scheme == "http" && !isLoopback(u.Hostname()) {
				fmt.Fprintf(a.stderr, "warning: %s is plain http: the password and the token cross the network in the clear\n", s)
			}
			r := newRemote(s, "", "login", a.stderr)
			ctx, cancel := signalContext()
			defer cancel()
			if tokenStdin {
				err = a.loginWithToken(ctx, r)
			} else {
				err = a.loginWithPassword(ctx, r, name, expires)
			}
			if err != nil {
				return err
			}
			if os.Getenv(envToken) != "" {
				fmt.Fprintf(a.stderr, "note: %s is set and takes precedence over the stored token\n", envToken)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&server, "server", "", "the Backplane server's URL (env "+envServer+")")
	cmd.Flags().StringVar(&name, "name", "", "sign-in name (asked for when not given)")
	cmd.Flags().StringVar(&expires, "expires-in", "", "the token's lifetime (90d, 720h; default: no expiry)")
	cmd.Flags().BoolVar(&tokenStdin, "token-stdin", false, "store a token read from stdin instead of signing in")
	return cmd
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loginWithPassword signs in, creates a token, stores it and signs out.
func (a *app) loginWithPassword(ctx context.Context, r *remote, name, expires string) error {
	in := bufio.NewReader(a.stdin)
	if name == "" {
		if a.stdinIsTerminal() {
			fmt.Fprint(a.stderr, "Name: ")
		}
		line, err := in.ReadString('\n')
		name = strings.TrimSpace(line)
		if name == "" {
			if err == nil || errors.Is(err, io.EOF) {
				err = errors.New("no name given")
			}
			return &exitError{code: exitUsage, err: fmt.Errorf("login: %w", err)}
		}
	}
	password, err := a.readSecret(in, "Password: ")
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("login: read the password: %w", err)}
	}
	if password == "" {
		return &exitError{code: exitUsage, err: errors.New("login: no password given")}
	}
	jar, _ := cookiejar.New(nil)
	var signedIn struct {
		User      apiUser `json:"user"`
		CSRFToken string  `json:"csrf_token"`
	}
	err = r.do(ctx, request{method: http.MethodPost, path: "/auth/login", noAuth: true, cookies: jar,
		body: map[string]string{"name": name, "password": password}}, &signedIn)
	if err != nil {
		var se *serverError
		if errors.As(err, &se) && se.Status == http.StatusUnauthorized {
			return &exitError{code: exitInvalid, err: fmt.Errorf("login: %s: %s", r.server, se.Error())}
		}
		return r.fail("", err)
	}
	session := func(method, path string, body, out any) error {
		return r.do(ctx, request{method: method, path: path, body: body, cookies: jar, csrf: signedIn.CSRFToken, noAuth: true}, out)
	}
	// Whatever happens next, the session ends: the token is what stays.
	defer func() {
		if err := session(http.MethodPost, "/auth/logout", nil, nil); err != nil {
			fmt.Fprintf(a.stderr, "warning: could not sign the session out of %s: %v\n", r.server, err)
		}
	}()
	var who me
	if err := session(http.MethodGet, "/auth/me", nil, &who); err != nil {
		return r.fail("", err)
	}
	if who.User.Name == "" {
		who.User = signedIn.User
	}
	role := who.highestRole()
	host, _ := os.Hostname()
	if host == "" {
		host = "unknown"
	}
	req := map[string]string{"name": "cli@" + host, "role": role}
	if expires != "" {
		req["expires_in"] = expires
	}
	var created struct {
		Token string   `json:"token"`
		Info  apiToken `json:"info"`
	}
	if err := session(http.MethodPost, "/tokens", req, &created); err != nil {
		return r.fail("", err)
	}
	if created.Token == "" {
		return &exitError{code: exitInvalid, err: fmt.Errorf("login: %s created no token", r.server)}
	}
	path, err := saveCredentials(credentials{Server: r.server, Token: created.Token, User: who.User.Name, TokenID: created.Info.ID})
	if err != nil {
		// A token nobody holds is revoked rather than left behind.
		if created.Info.ID != 0 {
			_ = session(http.MethodDelete, "/tokens/"+strconv.FormatInt(created.Info.ID, 10), nil, nil)
		}
		return &exitError{code: exitUsage, err: fmt.Errorf("login: %w", err)}
	}
	if created.Info.Role != "" {
		role = created.Info.Role
	}
	fmt.Fprintf(a.stdout, "signed in to %s as %s; token %s (%s) stored in %s\n", r.server, who.User, created.Info.Name, role, path)
	return nil
}

// loginWithToken stores a token read from stdin once the server accepts it.
func (a *app) loginWithToken(ctx context.Context, r *remote) error {
	token, err := a.readSecret(bufio.NewReader(a.stdin), "Token: ")
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("login: read the token: %w", err)}
	}
	if token == "" {
		return &exitError{code: exitUsage, err: errors.New("login: --token-stdin: no token on stdin")}
	}
	r.token = token
	var who me
	if err := r.do(ctx, request{method: http.MethodGet, path: "/auth/me"}, &who); err != nil {
		var se *serverError
		if errors.As(err, &se) && se.Status == http.StatusUnauthorized {
			return &exitError{code: exitInvalid, err: fmt.Errorf("login: %s does not accept the token: %s", r.server, se.Error())}
		}
		return r.fail("", err)
	}
	path, err := saveCredentials(credentials{Server: r.server, Token: token, User: who.User.Name})
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("login: %w", err)}
	}
	fmt.Fprintf(a.stdout, "signed in to %s as %s with the given token; stored in %s\n", r.server, who.User, path)
	return nil
}

// readSecret reads a password or token: without echo from a terminal,
// else the next line of stdin.
func (a *app) readSecret(in *bufio.Reader, prompt string) (string, error) {
	if a.stdinIsTerminal() && in.Buffered() == 0 {
		fd := int(a.stdin.(*os.File).Fd())
		fmt.Fprint(a.stderr, prompt)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(a.stderr)
		return strings.TrimSpace(string(b)), err
	}
	line, err := in.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func (a *app) logoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Forget the stored server credentials (and revoke their token)",
		Long: `Logout revokes the stored token on its server when it can (best effort)
and removes the stored credentials, so the cluster commands talk to Nomad
directly again (unless BACKPLANE_SERVER is set).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, path, err := loadCredentials()
			if err != nil && path == "" {
				return &exitError{code: exitUsage, err: fmt.Errorf("logout: %w", err)}
			}
			if c == nil {
				if err == nil {
					fmt.Fprintln(a.stdout, "not signed in")
					return nil
				}
				// Unreadable: remove it all the same.
				fmt.Fprintf(a.stderr, "warning: %v\n", err)
			}
			ctx, cancel := signalContext()
			defer cancel()
			revoked := ""
			if c != nil {
				if s, err := normalizeServer(c.Server); err == nil && c.Token != "" {
					r := newRemote(s, c.Token, "logout", a.stderr)
					if err := r.revoke(ctx, c); err != nil {
						fmt.Fprintf(a.stderr, "warning: the token was not revoked on %s: %v\n", s, err)
					} else {
						revoked = "; token revoked"
					}
				}
			}
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return &exitError{code: exitUsage, err: fmt.Errorf("logout: %w", err)}
			}
			if c != nil {
				fmt.Fprintf(a.stdout, "signed out of %s%s\n", c.Server, revoked)
			} else {
				fmt.Fprintf(a.stdout, "removed %s\n", path)
			}
			if os.Getenv(envToken) != "" || os.Getenv(envServer) != "" {
				fmt.Fprintf(a.stderr, "note: %s/%s are still set in the environment\n", envServer, envToken)
			}
			return nil
		},
	}
}

// revoke revokes the stored token, found by its ID or else by its prefix
// among the caller's tokens.
func (r *remote) revoke(ctx context.Context, c *credentials) error {
	id := c.TokenID
	if id == 0 {
		var list struct {
			Tokens []apiToken `json:"tokens"`
		}
		if err := r.do(ctx, request{method: http.MethodGet, path: "/tokens"}, &list); err != nil {
			return err
		}
		var found []apiToken
		for _, t := range list.Tokens {
			if t.Prefix != "" && strings.HasPrefix(c.Token, t.Prefix) && t.RevokedAt == nil {
				found = append(found, t)
			}
		}
		if len(found) != 1 {
			return fmt.Errorf("%d of your tokens start like it; revoke it in the editor", len(found))
		}
		id = found[0].ID
	}
	return r.do(ctx, request{method: http.MethodDelete, path: "/tokens/" + strconv.FormatInt(id, 10)}, nil)
}

// stdinIsTerminal reports whether stdin is a terminal: prompts are shown
// and passwords read without echo only then.
func (a *app) stdinIsTerminal() bool {
	f, ok := a.stdin.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
