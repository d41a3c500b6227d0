package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/argon2"

	"github.com/backplane-dev/backplane/store"
)

// Who may call the API, and how they prove it:
//
//   - A session: the editor signs in with a name and password (argon2id)
//     and gets the cookie backplane_session, HttpOnly, SameSite=Lax and
//     Secure under TLS. Only the SHA-256 of the cookie's value is stored.
//     A session lasts SessionTTL from sign-in; signing in always makes a
//     new session ID, so a planted cookie is never promoted (fixation).
//     Every request that changes something must carry X-CSRF-Token, the
//     session's CSRF token, compared in constant time.
//   - A token: `Authorization: Bearer bpt_...`, a personal API token with
//     a project scope, a role cap and an expiry, or the bootstrap admin
//     token (BACKPLANE_ADMIN_TOKEN). Stored as its SHA-256; tokens carry
//     32 random bytes, so a fast hash is the right one. The bpt_ prefix
//     lets secret scanners recognise a leaked token.
//
// Nothing here logs or returns a password, token, session ID or CSRF
// token, or a hash of one.

// SessionCookie is the name of the session cookie.
const SessionCookie = "backplane_session"

// SessionTTL is how long a session lasts from sign-in.
const SessionTTL = 7 * 24 * time.Hour

// LinkTTL is how long a one-time sign-in link stays valid.
const LinkTTL = 30 * time.Minute

// TokenPrefix starts every personal API token.
const TokenPrefix = "bpt_"

// MinPassword is the shortest password accepted.
const MinPassword = 10

// MinAdminToken is the shortest bootstrap admin token accepted.
const MinAdminToken = 24

// caller is the authenticated user of a request, with how they signed in.
type caller struct {
	user    *store.User
	token   *store.Token   // set for bearer requests
	session *store.Session // set for cookie requests
}

func (k *caller) via() string {
	if k.token != nil {
		return "token"
	}
	return "session"
}

const callerKey = "backplane.caller"

func callerOf(c *gin.Context) *caller {
	if v, ok := c.Get(callerKey); ok {
		return v.(*caller)
	}
	return nil
}

// author is the name of the request's authenticated user; every route that
// writes has one.
func author(c *gin.Context) string {
	if k := callerOf(c); k != nil {
		return k.user.Name
	}
	return "anonymous"
}

// randomSecret is n random bytes, URL-safe base64 without padding.
func randomSecret(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // the OS has no randomness: nothing can be safe
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashSecret is the hex SHA-256 of a high-entropy secret (token, session
// ID, link code, CSRF token).
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// csrfFor is the CSRF token of a session: derived from its ID, which only
// the browser holding the HttpOnly cookie knows, so it needs no storage
// and a page reload gets the same one from GET /auth/me.
func csrfFor(sessionID string) string {
	sum := sha256.Sum256([]byte("backplane-csrf\x00" + sessionID))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// newToken makes a personal API token and its prefix for lists.
func newToken() (token, prefix string) {
	token = TokenPrefix + randomSecret(32)
	return token, token[:len(TokenPrefix)+8]
}

// argon2id parameters: RFC 9106's second recommendation scaled to a
// server that signs people in rarely (19 MiB, 2 passes).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// hashPassword encodes an argon2id hash in the PHC string format.
func hashPassword(password string) string {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// checkPassword compares a password with an encoded hash in constant time.
func checkPassword(password, encoded string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	var mem uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &t, &p); err != nil || mem == 0 || mem > 1<<20 || t == 0 || t > 16 || p == 0 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 128 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, mem, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked against when a name is unknown, so a wrong name and
// a wrong password take the same time. It is made on first use: argon2id
// takes 19 MiB, which no process that never signs anyone in should pay
// (every CLI run and the logship sidecar link this package).
var dummyHash = sync.OnceValue(func() string { return hashPassword("backplane-no-such-user") })

func errUnauthorized(msg string) *apiError {
	return &apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: msg}
}

func errForbidden(msg string) *apiError {
	return &apiError{Status: http.StatusForbidden, Code: "forbidden", Message: msg}
}

var errNotSignedIn = errUnauthorized("not signed in: sign in, or send Authorization: Bearer <token>")

// authenticate finds the caller from a bearer token or the session cookie
// and keeps it on the context. It never answers by itself: the route's
// rule decides (authorize). A bad token or an expired session is simply no
// caller, so a public route still works.
func (s *Server) authenticate() gin.HandlerFunc {
	return func(c *gin.Context) {
		if k, err := s.identify(c); err != nil {
			c.Set("backplane.authError", err)
		} else if k != nil {
			c.Set(callerKey, k)
		}
		c.Next()
	}
}

func (s *Server) identify(c *gin.Context) (*caller, error) {
	ctx := c.Request.Context()
	if h := c.GetHeader("Authorization"); h != "" {
		raw, ok := strings.CutPrefix(h, "Bearer ")
		raw = strings.TrimSpace(raw)
		if !ok || raw == "" {
			return nil, errUnauthorized("the Authorization header must be `Bearer <token>`")
		}
		t, err := s.store.TokenByHash(ctx, hashSecret(raw))
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, errUnauthorized("unknown token")
		case errors.Is(err, store.ErrGone):
			return nil, errUnauthorized("the token has expired or was revoked")
		case err != nil:
			return nil, err
		}
		u, err := s.store.GetUser(ctx, t.UserID)
		if err != nil {
			return nil, err
		}
		if u.Disabled {
			return nil, errUnauthorized("the token's user is disabled")
		}
		s.touchToken(c, t)
		return &caller{user: u, token: t}, nil
	}
	ck, err := c.Request.Cookie(SessionCookie)
	if err != nil || ck.Value == "" {
		return nil, nil
	}
	sess, err := s.store.GetSession(ctx, hashSecret(ck.Value))
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrGone):
		return nil, errUnauthorized("your session has ended: sign in again")
	case err != nil:
		return nil, err
	}
	u, err := s.store.GetUser(ctx, sess.UserID)
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, errUnauthorized("your account is disabled")
	}
	return &caller{user: u, session: sess}, nil
}

// touchToken records a token's use, at most once a minute.
func (s *Server) touchToken(c *gin.Context, t *store.Token) {
	now := time.Now().UTC()
	if t.LastUsedAt != nil && now.Sub(*t.LastUsedAt) < time.Minute {
		return
	}
	if err := s.store.TouchToken(c.Request.Context(), t.ID, now); err != nil {
		s.log.Warn("record token use", "token", t.Prefix, "error", err)
	}
}

// isUnsafe reports whether a method changes something.
func isUnsafe(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// requireCaller returns the caller, or the reason there is none. A
// cookie-authenticated request that changes something must carry the
// session's CSRF token.
func requireCaller(c *gin.Context) (*caller, error) {
	k := callerOf(c)
	if k == nil {
		if v, ok := c.Get("backplane.authError"); ok {
			return nil, v.(error)
		}
		return nil, errNotSignedIn
	}
	if k.session != nil && isUnsafe(c.Request.Method) {
		got := c.GetHeader("X-CSRF-Token")
		ck, _ := c.Request.Cookie(SessionCookie)
		if got == "" || ck == nil || subtle.ConstantTimeCompare([]byte(got), []byte(csrfFor(ck.Value))) != 1 {
			return nil, &apiError{Status: http.StatusForbidden, Code: "csrf",
				Message: "missing or wrong X-CSRF-Token: send the csrf_token of GET /api/v1/auth/me with every change"}
		}
	}
	return k, nil
}

// projectRole is the caller's effective role in a project, and false when
// they have none: server admins are admin everywhere; a token acts with
// the lower of its role and its user's, and only in its project when it
// names one.
func (s *Server) projectRole(c *gin.Context, k *caller, project string) (store.Role, bool, error) {
	if !k.mayReach(project) {
		return "", false, nil
	}
	base := store.RoleAdmin
	if !k.user.ServerAdmin {
		r, err := s.store.MemberRole(c.Request.Context(), project, k.user.ID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return "", false, nil
		case err != nil:
			return "", false, err
		}
		base = r
	}
	role := k.cap(base)
	return role, role.Valid(), nil
}

// mayReach reports whether the caller's token (if any) covers project.
func (k *caller) mayReach(project string) bool {
	return k.token == nil || k.token.Project == "" || k.token.Project == project
}

// cap is a role lowered to the caller's token's, if any.
func (k *caller) cap(role store.Role) store.Role {
	if k.token != nil {
		return role.Lower(k.token.Role)
	}
	return role
}

// callerProjects lists every project the caller has a role in, with the
// role, in slug order: all of them for a server admin, their memberships
// otherwise, each within the token's scope and cap. One store read, where
// asking projectRole per project would be one per project.
func (s *Server) callerProjects(c *gin.Context, k *caller) ([]store.Member, error) {
	ctx := c.Request.Context()
	var all []store.Member
	if k.user.ServerAdmin {
		ps, err := s.store.ListProjects(ctx)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			all = append(all, store.Member{Project: p.Slug, UserID: k.user.ID, UserName: k.user.Name, Role: store.RoleAdmin})
		}
	} else {
		ms, err := s.store.UserProjects(ctx, k.user.ID)
		if err != nil {
			return nil, err
		}
		all = ms
	}
	out := make([]store.Member, 0, len(all))
	for _, m := range all {
		if m.Role = k.cap(m.Role); k.mayReach(m.Project) && m.Role.Valid() {
			out = append(out, m)
		}
	}
	return out, nil
}

// setSessionCookie starts a new session for u and sets its cookie; the
// CSRF token goes back to the caller in the body.
func (s *Server) startSession(c *gin.Context, u *store.User) (csrf string, err error) {
	if old, err := c.Request.Cookie(SessionCookie); err == nil && old.Value != "" {
		// Signing in never keeps a session the browser already had.
		_ = s.store.DeleteSession(c.Request.Context(), hashSecret(old.Value))
	}
	id := randomSecret(32)
	csrf = csrfFor(id)
	sess := store.Session{IDHash: hashSecret(id), UserID: u.ID, CSRFHash: hashSecret(csrf), ExpiresAt: time.Now().Add(SessionTTL).UTC()}
	if err := s.store.CreateSession(c.Request.Context(), sess); err != nil {
		return "", err
	}
	http.SetCookie(c.Writer, &http.Cookie{
		Name: SessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: c.Request.TLS != nil, Expires: sess.ExpiresAt, MaxAge: int(SessionTTL.Seconds()),
	})
	return csrf, nil
}

func clearSessionCookie(c *gin.Context) {
	http.SetCookie(c.Writer, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: c.Request.TLS != nil, MaxAge: -1})
}

// securityHeaders are sent with every answer. The editor's build has no
// inline script; CodeMirror adds <style> elements, hence 'unsafe-inline'
// for styles only.
func securityHeaders() gin.HandlerFunc {
	const csp = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
		"font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		if c.Request.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		c.Next()
	}
}

// BootstrapAdmin is the sign-in name of the first server admin.
const BootstrapAdmin = "admin"

// Bootstrap prepares sign-in at start. On an empty store it creates the
// server admin "admin"; while that admin has no password, it returns a
// one-time sign-in link (valid for LinkTTL) for the caller to print, so a
// restart gives a fresh one. With adminToken (at least MinAdminToken
// characters, for bootstrap and CI) it makes sure an admin API token with
// that value exists. Every replica may call it at every start.
func (s *Server) Bootstrap(ctx context.Context, adminToken string) (link string, err error) {
	if adminToken != "" && len(adminToken) < MinAdminToken {
		return "", fmt.Errorf("the admin token must have at least %d characters", MinAdminToken)
	}
	n, err := s.store.CountUsers(ctx)
	if err != nil {
		return "", fmt.Errorf("bootstrap: count users: %w", err)
	}
	if n == 0 {
		if _, err := s.store.CreateUser(ctx, store.NewUser{Name: BootstrapAdmin, DisplayName: "Admin", ServerAdmin: true}); err != nil && !errors.Is(err, store.ErrExists) {
			return "", fmt.Errorf("bootstrap: create the first admin: %w", err)
		}
	}
	admin, hash, err := s.store.UserByName(ctx, BootstrapAdmin)
	if errors.Is(err, store.ErrNotFound) {
		if adminToken != "" {
			return "", fmt.Errorf("bootstrap: the admin token needs the user %q, which no longer exists", BootstrapAdmin)
		}
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("bootstrap: %w", err)
	}
	if adminToken != "" {
		if !admin.ServerAdmin || admin.Disabled {
			return "", fmt.Errorf("bootstrap: the admin token needs %q to be an enabled server admin", BootstrapAdmin)
		}
		hash := hashSecret(adminToken)
		t, err := s.store.EnsureToken(ctx, store.NewToken{UserID: admin.ID, Name: "bootstrap (BACKPLANE_ADMIN_TOKEN) " + hash[:8],
			Hash: hash, Prefix: "bootstrap", Role: store.RoleAdmin})
		if err != nil {
			return "", fmt.Errorf("bootstrap: admin token: %w", err)
		}
		if t.RevokedAt != nil {
			return "", errors.New("bootstrap: the admin token was revoked; choose a new BACKPLANE_ADMIN_TOKEN")
		}
		// A changed BACKPLANE_ADMIN_TOKEN replaces the old one: the old
		// value stops working.
		ts, err := s.store.ListTokens(ctx, admin.ID)
		if err != nil {
			return "", fmt.Errorf("bootstrap: %w", err)
		}
		for _, o := range ts {
			if o.Prefix == "bootstrap" && o.ID != t.ID && o.RevokedAt == nil {
				if err := s.store.RevokeToken(ctx, admin.ID, o.ID); err != nil {
					return "", fmt.Errorf("bootstrap: revoke the previous admin token: %w", err)
				}
			}
		}
	}
	if hash == "" && !admin.Disabled {
		return s.signInLink(ctx, admin.ID)
	}
	return "", nil
}
