package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/schema"
	"github.com/backplane-dev/backplane/store"
)

var userNameRe = regexp.MustCompile(`^[a-z][a-z0-9._-]{0,63}$`)

// audit records an event with the caller and their address.
func (s *Server) audit(c *gin.Context, project, action, detail string) {
	s.auditAs(c, author(c), project, action, detail)
}

func (s *Server) auditAs(c *gin.Context, actor, project, action, detail string) {
	ctx := context.WithoutCancel(c.Request.Context())
	if err := s.store.AppendAudit(ctx, store.AuditEvent{Project: project, Actor: actor, Address: c.ClientIP(), Action: action, Detail: detail}); err != nil {
		s.log.Warn("audit log write failed", "action", action, "project", project, "error", err)
	}
}

func (s *Server) login(c *gin.Context) error {
	var req struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	name := strings.ToLower(strings.TrimSpace(req.Name))
	addr := c.ClientIP()
	if wait, who := s.limiter.blocked(name, addr); wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		c.Header("Retry-After", strconv.Itoa(secs))
		return &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited",
			Message: fmt.Sprintf("too many failed sign-ins for this %s; try again in %s", who, (time.Duration(secs) * time.Second).String())}
	}
	ctx := c.Request.Context()
	u, hash, err := s.store.UserByName(ctx, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if hash == "" {
		hash = dummyHash() // same work whether or not the name exists
	}
	if !checkPassword(req.Password, hash) || u == nil || u.Disabled {
		s.limiter.failed(name, addr)
		s.auditAs(c, name, "", "auth.login_failed", "wrong name or password")
		return errUnauthorized("wrong name or password")
	}
	s.limiter.succeeded(name)
	csrf, err := s.startSession(c, u)
	if err != nil {
		return err
	}
	s.auditAs(c, u.Name, "", "auth.login", "password")
	c.JSON(http.StatusOK, gin.H{"user": u, "csrf_token": csrf})
	return nil
}

func (s *Server) useLink(c *gin.Context) error {
	var req struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request.Context()
	id, err := s.store.UseLink(ctx, hashSecret(strings.TrimSpace(req.Code)))
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.auditAs(c, "", "", "auth.login_failed", "unknown sign-in link")
		return errUnauthorized("unknown sign-in link")
	case errors.Is(err, store.ErrGone):
		return &apiError{Status: http.StatusGone, Code: "gone", Message: "this sign-in link was already used or has expired; ask an admin for a new one"}
	case err != nil:
		return err
	}
	u, err := s.store.GetUser(ctx, id)
	if err != nil {
		return err
	}
	if u.Disabled {
		return errUnauthorized("your account is disabled")
	}
	csrf, err := s.startSession(c, u)
	if err != nil {
		return err
	}
	s.auditAs(c, u.Name, "", "auth.login", "one-time link")
	c.JSON(http.StatusOK, gin.H{"user": u, "csrf_token": csrf})
	return nil
}

func (s *Server) logout(c *gin.Context) error {
	k := callerOf(c)
	if k.session != nil {
		if err := s.store.DeleteSession(c.Request.Context(), k.session.IDHash); err != nil {
			return err
		}
	}
	clearSessionCookie(c)
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) me(c *gin.Context) error {
	k := callerOf(c)
	ms, err := s.callerProjects(c, k)
	if err != nil {
		return err
	}
	projects := make([]gin.H, 0, len(ms))
	for _, m := range ms {
		projects = append(projects, gin.H{"project": m.Project, "role": m.Role})
	}
	body := gin.H{"user": k.user, "auth": k.via(), "projects": projects}
	if k.session != nil {
		if ck, err := c.Request.Cookie(SessionCookie); err == nil {
			body["csrf_token"] = csrfFor(ck.Value)
		}
	}
	c.JSON(http.StatusOK, body)
	return nil
}

func (s *Server) setPassword(c *gin.Context) error {
	var req struct {
		Current  string `json:"current_password"`
		Password string `json:"password"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	k := callerOf(c)
	ctx := c.Request.Context()
	_, hash, err := s.store.UserByName(ctx, k.user.Name)
	if err != nil {
		return err
	}
	if hash != "" && !checkPassword(req.Current, hash) {
		s.audit(c, "", "auth.login_failed", "wrong current password when changing it")
		return &apiError{Status: http.StatusForbidden, Code: "forbidden", Path: "current_password", Message: "the current password is wrong"}
	}
	if err := checkNewPassword(req.Password); err != nil {
		return err
	}
	// SetPassword ends every session of the user; the caller's own
	// browser gets a new one.
	if err := s.store.SetPassword(ctx, k.user.ID, hashPassword(req.Password)); err != nil {
		return err
	}
	s.audit(c, "", "auth.password", "password set")
	if k.session != nil {
		csrf, err := s.startSession(c, k.user)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, gin.H{"csrf_token": csrf})
		return nil
	}
	c.Status(http.StatusNoContent)
	return nil
}

func checkNewPassword(p string) error {
	if len([]rune(p)) < MinPassword {
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: "password", Message: fmt.Sprintf("the password must have at least %d characters", MinPassword)}
	}
	return nil
}

func checkRole(r store.Role) error {
	if !r.Valid() {
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: "role", Message: "role must be one of viewer, editor, deployer, admin"}
	}
	return nil
}

// --- users (server admins) ---

// respondList answers {key: items}, an empty list rather than null.
func respondList[T any](c *gin.Context, key string, items []T, err error) error {
	if err != nil {
		return err
	}
	if items == nil {
		items = []T{}
	}
	c.JSON(http.StatusOK, gin.H{key: items})
	return nil
}

func (s *Server) listUsers(c *gin.Context) error {
	us, err := s.store.ListUsers(c.Request.Context())
	return respondList(c, "users", us, err)
}

func (s *Server) createUser(c *gin.Context) error {
	var req struct {
		Name        string `json:"name"`
		DisplayName string `json:"display_name"`
		ServerAdmin bool   `json:"server_admin"`
		Password    string `json:"password"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	name := strings.ToLower(strings.TrimSpace(req.Name))
	if !userNameRe.MatchString(name) {
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: "name",
			Message: "name must start with a letter and hold only lowercase letters, digits, '.', '_' and '-' (at most 64)"}
	}
	nu := store.NewUser{Name: name, DisplayName: strings.TrimSpace(req.DisplayName), ServerAdmin: req.ServerAdmin}
	if req.Password != "" {
		if err := checkNewPassword(req.Password); err != nil {
			return err
		}
		nu.PasswordHash = hashPassword(req.Password)
	}
	ctx := c.Request.Context()
	u, err := s.store.CreateUser(ctx, nu)
	if err != nil {
		return err
	}
	body := gin.H{"user": u}
	if req.Password == "" {
		link, err := s.signInLink(ctx, u.ID)
		if err != nil {
			return err
		}
		body["link"] = link
	}
	s.audit(c, "", "user.create", fmt.Sprintf("%s (server admin: %v)", u.Name, u.ServerAdmin))
	c.JSON(http.StatusCreated, body)
	return nil
}

// signInLink makes a one-time sign-in link for a user.
func (s *Server) signInLink(ctx context.Context, userID int64) (string, error) {
	code := randomSecret(24)
	if err := s.store.CreateLink(ctx, hashSecret(code), userID, time.Now().Add(LinkTTL).UTC()); err != nil {
		return "", err
	}
	return s.publicURL + "/sign-in/link#" + code, nil
}

func pathID(c *gin.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, errBadRequest(fmt.Sprintf("%s must be a positive number", name))
	}
	return id, nil
}

func (s *Server) updateUser(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req struct {
		ServerAdmin *bool `json:"server_admin"`
		Disabled    *bool `json:"disabled"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request.Context()
	if id == callerOf(c).user.ID && ((req.ServerAdmin != nil && !*req.ServerAdmin) || (req.Disabled != nil && *req.Disabled)) {
		return errBadRequest("you cannot remove your own server admin right or disable yourself")
	}
	var changes []string
	if req.ServerAdmin != nil {
		if err := s.store.SetServerAdmin(ctx, id, *req.ServerAdmin); err != nil {
			return err
		}
		changes = append(changes, fmt.Sprintf("server admin: %v", *req.ServerAdmin))
	}
	if req.Disabled != nil {
		if err := s.store.SetDisabled(ctx, id, *req.Disabled); err != nil {
			return err
		}
		changes = append(changes, fmt.Sprintf("disabled: %v", *req.Disabled))
	}
	u, err := s.store.GetUser(ctx, id)
	if err != nil {
		return err
	}
	s.audit(c, "", "user.update", u.Name+": "+strings.Join(changes, ", "))
	c.JSON(http.StatusOK, u)
	return nil
}

// --- tokens (the caller's own) ---

func (s *Server) listTokens(c *gin.Context) error {
	ts, err := s.store.ListTokens(c.Request.Context(), callerOf(c).user.ID)
	return respondList(c, "tokens", ts, err)
}

// parseExpiry reads "90d" or a Go duration; empty is no expiry.
func parseExpiry(v string) (*time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 3650 {
			return nil, fmt.Errorf("%q: days must be 1 to 3650", v)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil || d <= 0 {
			return nil, fmt.Errorf("%q is not a positive duration such as 90d or 12h", v)
		}
	}
	t := time.Now().Add(d).UTC().Truncate(time.Microsecond)
	return &t, nil
}

func (s *Server) createToken(c *gin.Context) error {
	var req struct {
		Name      string     `json:"name"`
		Project   string     `json:"project"`
		Role      store.Role `json:"role"`
		ExpiresIn string     `json:"expires_in"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	k := callerOf(c)
	name := strings.TrimSpace(req.Name)
	if name == "" || len(name) > 100 {
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: "name", Message: "name must be 1 to 100 characters"}
	}
	if err := checkRole(req.Role); err != nil {
		return err
	}
	exp, err := parseExpiry(req.ExpiresIn)
	if err != nil {
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: "expires_in", Message: err.Error()}
	}
	// The token's role may not be above what the caller may do: in its
	// project, or with no project, anywhere. A token cannot mint a token
	// that outlives or outranks it either.
	top, err := s.highestRole(c, k, req.Project)
	if err != nil {
		return err
	}
	if !top.Valid() {
		return errNotFound(fmt.Sprintf("no project %q", req.Project))
	}
	if !top.AtLeast(req.Role) {
		return errForbidden(fmt.Sprintf("a token's role cannot be above yours (%s)", top))
	}
	if k.token != nil && k.token.ExpiresAt != nil && (exp == nil || exp.After(*k.token.ExpiresAt)) {
		exp = k.token.ExpiresAt
	}
	tok, prefix := newToken()
	t, err := s.store.CreateToken(c.Request.Context(), store.NewToken{UserID: k.user.ID, Name: name, Hash: hashSecret(tok), Prefix: prefix,
		Project: req.Project, Role: req.Role, ExpiresAt: exp})
	if err != nil {
		return err
	}
	s.audit(c, req.Project, "token.create", fmt.Sprintf("%s (%s, role %s)", name, prefix, req.Role))
	c.JSON(http.StatusCreated, gin.H{"token": tok, "info": t})
	return nil
}

// highestRole is the caller's role in project, or with no project their
// highest role in any project ("" when they have none).
func (s *Server) highestRole(c *gin.Context, k *caller, project string) (store.Role, error) {
	if project != "" {
		if _, err := s.store.GetProject(c.Request.Context(), project); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return "", nil
			}
			return "", err
		}
		r, ok, err := s.projectRole(c, k, project)
		if err != nil || !ok {
			return "", err
		}
		return r, nil
	}
	if k.token != nil && k.token.Project != "" {
		return "", errForbidden("a token for one project cannot make a token for all projects")
	}
	var top store.Role
	if k.user.ServerAdmin {
		top = store.RoleAdmin
	} else {
		ms, err := s.store.UserProjects(c.Request.Context(), k.user.ID)
		if err != nil {
			return "", err
		}
		for _, m := range ms {
			if !top.Valid() || m.Role.AtLeast(top) {
				top = m.Role
			}
		}
		if !top.Valid() {
			top = store.RoleViewer // a token for projects the user joins later, as a viewer at most
		}
	}
	if k.token != nil {
		top = top.Lower(k.token.Role)
	}
	return top, nil
}

func (s *Server) revokeToken(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	k := callerOf(c)
	if err := s.store.RevokeToken(c.Request.Context(), k.user.ID, id); err != nil {
		return err
	}
	s.audit(c, "", "token.revoke", fmt.Sprintf("token %d", id))
	c.Status(http.StatusNoContent)
	return nil
}

// --- members ---

func (s *Server) listMembers(c *gin.Context) error {
	ms, err := s.store.ListMembers(c.Request.Context(), c.Param("p"))
	return respondList(c, "members", ms, err)
}

func (s *Server) setMember(c *gin.Context) error {
	var req struct {
		Role store.Role `json:"role"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := checkRole(req.Role); err != nil {
		return err
	}
	ctx := c.Request.Context()
	u, _, err := s.store.UserByName(ctx, strings.ToLower(c.Param("name")))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errNotFound(fmt.Sprintf("no user %q", c.Param("name")))
		}
		return err
	}
	m, err := s.store.SetMember(ctx, c.Param("p"), u.ID, req.Role)
	if err != nil {
		return err
	}
	s.audit(c, c.Param("p"), "member.set", fmt.Sprintf("%s: %s", u.Name, req.Role))
	c.JSON(http.StatusOK, m)
	return nil
}

func (s *Server) removeMember(c *gin.Context) error {
	ctx := c.Request.Context()
	u, _, err := s.store.UserByName(ctx, strings.ToLower(c.Param("name")))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errNotFound(fmt.Sprintf("no user %q", c.Param("name")))
		}
		return err
	}
	if err := s.store.RemoveMember(ctx, c.Param("p"), u.ID); err != nil {
		return err
	}
	s.audit(c, c.Param("p"), "member.remove", u.Name)
	c.Status(http.StatusNoContent)
	return nil
}

// --- the project's audit log ---

func (s *Server) projectAudit(c *gin.Context) error {
	limit, _ := strconv.Atoi(c.Query("limit"))
	evs, err := s.store.ListAudit(c.Request.Context(), c.Param("p"), limit)
	if err != nil {
		return err
	}
	if evs == nil {
		evs = []store.AuditEvent{}
	}
	switch c.Query("format") {
	case "", "json":
		c.JSON(http.StatusOK, gin.H{"events": evs})
	case "jsonl":
		c.Header("Content-Type", "application/jsonl")
		c.Status(http.StatusOK)
		enc := json.NewEncoder(c.Writer)
		for _, e := range evs {
			if err := enc.Encode(e); err != nil {
				return nil // the client went away
			}
		}
	default:
		return errBadRequest("format must be json or jsonl")
	}
	return nil
}

// --- secrets ---

// SecretsCluster is what the secrets endpoints need of the cluster side;
// *jobs.Cluster is one.
type SecretsCluster interface {
	SetSecret(ctx context.Context, project, element, name string, value []byte) (int, error)
	Secrets(ctx context.Context, project, element string) ([]jobs.SecretInfo, error)
}

// elementOfHead checks that the head revision declares the element, and
// returns the secret names it declares.
func (s *Server) elementOfHead(ctx context.Context, slug, id string) ([]string, error) {
	r, err := s.store.GetRevision(ctx, slug, 0)
	if err != nil {
		return nil, err
	}
	sc, err := schema.Decode("", []byte(r.YAML))
	if err != nil {
		return nil, &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid_schema", Message: "the head revision does not decode; fix it first"}
	}
	if id == jobs.ProjectSecrets {
		// The project's own secrets: the ones its receivers read and
		// the private repositories' credentials.
		return sc.ProjectSecrets(), nil
	}
	e := sc.Element(id)
	if e == nil {
		return nil, errNotFound(fmt.Sprintf("no element %q in %s's head revision", id, slug))
	}
	return e.Secrets, nil
}

func (s *Server) secretsCluster() (SecretsCluster, error) {
	sc, ok := s.cluster.(SecretsCluster)
	if s.cluster == nil || !ok || !s.cluster.HasVault() {
		return nil, &apiError{Status: http.StatusServiceUnavailable, Code: "no_cluster", Message: "secrets need Vault: set VAULT_ADDR and VAULT_TOKEN for serve"}
	}
	return sc, nil
}

func (s *Server) listSecrets(c *gin.Context) error {
	sc, err := s.secretsCluster()
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	slug, id := c.Param("p"), c.Param("element")
	declared, err := s.elementOfHead(ctx, slug, id)
	if err != nil {
		return err
	}
	infos, err := sc.Secrets(ctx, slug, id)
	if err != nil {
		return err
	}
	type entry struct {
		Name     string `json:"name"`
		Version  int    `json:"version,omitempty"`
		Declared bool   `json:"declared"`
		Set      bool   `json:"set"`
	}
	byName := map[string]*entry{}
	for _, n := range declared {
		byName[n] = &entry{Name: n, Declared: true}
	}
	for _, in := range infos {
		e := byName[in.Name]
		if e == nil {
			e = &entry{Name: in.Name}
			byName[in.Name] = e
		}
		e.Version, e.Set = in.Version, true
	}
	out := make([]entry, 0, len(byName))
	for _, e := range byName {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	c.JSON(http.StatusOK, gin.H{"secrets": out})
	return nil
}

func (s *Server) setSecret(c *gin.Context) error {
	sc, err := s.secretsCluster()
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	slug, id, name := c.Param("p"), c.Param("element"), c.Param("name")
	if !schema.ValidEnvName(name) {
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: "name", Message: fmt.Sprintf("%q is not a valid secret name", name)}
	}
	if _, err := s.elementOfHead(ctx, slug, id); err != nil {
		return err
	}
	value, err := io.ReadAll(io.LimitReader(c.Request.Body, 1<<20+1))
	if err != nil {
		return err
	}
	if len(value) > 1<<20 {
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "a secret value is at most 1 MiB"}
	}
	if len(value) == 0 {
		return errBadRequest("the secret value is empty: send it as the request body")
	}
	version, err := sc.SetSecret(ctx, slug, id, name, value)
	if err != nil {
		// The cluster's errors never carry the value.
		return err
	}
	s.audit(c, slug, "secret.set", fmt.Sprintf("%s/%s (version %d)", id, name, version))
	c.JSON(http.StatusOK, gin.H{"name": name, "version": version})
	return nil
}
