package web

import (
	"context"
	"errors"
	"net/http"
	"os"
	"testing"

	"github.com/backplane-dev/backplane/store"
)

// testAdminToken is the bootstrap admin token of every test server: the
// API suites authenticate through it, the way CI does, unless a request
// carries its own Authorization or cookie (the auth tests do).
const testAdminToken = "test-admin-token-0123456789abcdef"

// adminTransport adds the bootstrap admin token to a request that has no
// credentials of its own. X-Test-Anonymous: 1 sends a request without any.
type adminTransport struct{ base http.RoundTripper }

func (a adminTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("X-Test-Anonymous") != "" {
		r = r.Clone(r.Context())
		r.Header.Del("X-Test-Anonymous")
		return a.base.RoundTrip(r)
	}
	if r.Header.Get("Authorization") == "" && r.Header.Get("Cookie") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+testAdminToken)
	}
	return a.base.RoundTrip(r)
}

func withAdmin(rt http.RoundTripper) http.RoundTripper { return adminTransport{base: rt} }

func TestMain(m *testing.M) {
	http.DefaultTransport = withAdmin(http.DefaultTransport)
	os.Exit(m.Run())
}

// bootstrap gives a test server its admin token.
func bootstrap(t testing.TB, srv *Server) {
	t.Helper()
	if _, err := srv.Bootstrap(context.Background(), testAdminToken); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
}

// userToken makes (or reuses) the user name with role in project and
// returns a new API token of theirs, as `Bearer <token>` header value.
func userToken(t testing.TB, srv *Server, name, project string, role store.Role) string {
	t.Helper()
	ctx := context.Background()
	u, _, err := srv.store.UserByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		u, err = srv.store.CreateUser(ctx, store.NewUser{Name: name, PasswordHash: hashPassword(name + "-password")})
	}
	if err != nil {
		t.Fatalf("user %s: %v", name, err)
	}
	if project != "" {
		if _, err := srv.store.SetMember(ctx, project, u.ID, role); err != nil {
			t.Fatalf("member %s of %s: %v", name, project, err)
		}
	}
	if role == "" {
		role = store.RoleViewer
	}
	tok, prefix := newToken()
	if _, err := srv.store.CreateToken(ctx, store.NewToken{UserID: u.ID, Name: "test " + prefix, Hash: hashSecret(tok), Prefix: prefix, Project: project, Role: role}); err != nil {
		t.Fatalf("token for %s: %v", name, err)
	}
	return "Bearer " + tok
}
