package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/backplane-dev/backplane/store"
)

// The Auth cases: users, sessions, sign-in links, API tokens, project
// members, and the audit event's address. Run runs them with the rest.

var authTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"CreateUser", testCreateUser},
	{"CreateUserInvalid", testCreateUserInvalid},
	{"UserNameUnique", testUserNameUnique},
	{"UserNotFound", testUserNotFound},
	{"ListUsers", testListUsers},
	{"SetServerAdmin", testSetServerAdmin},
	{"SetPasswordEndsSessions", testSetPasswordEndsSessions},
	{"SetDisabledEndsSessions", testSetDisabledEndsSessions},
	{"Session", testSession},
	{"SessionErrors", testSessionErrors},
	{"SessionExpired", testSessionExpired},
	{"Link", testLink},
	{"LinkErrors", testLinkErrors},
	{"UseLinkConcurrent", testUseLinkConcurrent},
	{"CreateToken", testCreateToken},
	{"CreateTokenErrors", testCreateTokenErrors},
	{"TokenNameFreedByRevoke", testTokenNameFreedByRevoke},
	{"TokenExpired", testTokenExpired},
	{"RevokeToken", testRevokeToken},
	{"ListTokens", testListTokens},
	{"TouchToken", testTouchToken},
	{"EnsureToken", testEnsureToken},
	{"EnsureTokenConcurrent", testEnsureTokenConcurrent},
	{"ProjectTokenGoesWithProject", testProjectTokenGoesWithProject},
	{"Members", testMembers},
	{"MemberErrors", testMemberErrors},
	{"UserProjects", testUserProjects},
	{"MembersGoWithProject", testMembersGoWithProject},
	{"AuthTimesAreUTC", testAuthTimesAreUTC},
	{"AuthErrorsNameSubjectNotSecret", testAuthErrorsNameSubjectNotSecret},
	{"AuditAddress", testAuditAddress},
}

// --- helpers ---

func mustUser(t *testing.T, s store.Store, name string) *store.User {
	t.Helper()
	u, err := s.CreateUser(t.Context(), store.NewUser{Name: name, DisplayName: strings.ToUpper(name), PasswordHash: "$argon2id$" + name})
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", name, err)
	}
	return u
}

func mustSession(t *testing.T, s store.Store, id string, userID int64, expires time.Time) {
	t.Helper()
	if err := s.CreateSession(t.Context(), store.Session{IDHash: sha256Hex(id), UserID: userID, CSRFHash: sha256Hex("csrf-" + id), ExpiresAt: expires}); err != nil {
		t.Fatalf("CreateSession(%s): %v", id, err)
	}
}

func mustToken(t *testing.T, s store.Store, nt store.NewToken) *store.Token {
	t.Helper()
	tok, err := s.CreateToken(t.Context(), nt)
	if err != nil {
		t.Fatalf("CreateToken(%q): %v", nt.Name, err)
	}
	return tok
}

func newToken(userID int64, name, secret string) store.NewToken {
	return store.NewToken{UserID: userID, Name: name, Hash: sha256Hex(secret), Prefix: "bpt_" + secret[:4], Role: store.RoleDeployer}
}

func ptr[T any](v T) *T { return &v }

// --- users ---

func testCreateUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	if n, err := s.CountUsers(ctx); err != nil || n != 0 {
		t.Fatalf("CountUsers on an empty store = %d, %v; want 0", n, err)
	}
	from := time.Now()
	u, err := s.CreateUser(ctx, store.NewUser{Name: "alice", DisplayName: "Alice A.", ServerAdmin: true, PasswordHash: "$argon2id$v=19$x"})
	to := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	if u.ID <= 0 {
		t.Errorf("ID = %d, want one set by the store", u.ID)
	}
	between(t, "CreatedAt", u.CreatedAt, from, to)
	want := &store.User{ID: u.ID, Name: "alice", DisplayName: "Alice A.", ServerAdmin: true, HasPassword: true, CreatedAt: u.CreatedAt}
	if diff := cmp.Diff(want, u); diff != "" {
		t.Errorf("CreateUser (-want +got):\n%s", diff)
	}
	got, err := s.GetUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(u, got); diff != "" {
		t.Errorf("GetUser differs from CreateUser (-create +get):\n%s", diff)
	}
	got, hash, err := s.UserByName(ctx, "Alice") // sign-in names are matched lowercased
	if err != nil {
		t.Fatal(err)
	}
	if hash != "$argon2id$v=19$x" {
		t.Errorf("UserByName's hash = %q, want the one stored", hash)
	}
	if diff := cmp.Diff(u, got); diff != "" {
		t.Errorf("UserByName differs from CreateUser (-create +get):\n%s", diff)
	}

	t.Run("NoPasswordAndDefaultDisplayName", func(t *testing.T) {
		b, err := s.CreateUser(ctx, store.NewUser{Name: "bob"})
		if err != nil {
			t.Fatal(err)
		}
		if b.HasPassword || b.ServerAdmin || b.Disabled || b.DisplayName != "bob" {
			t.Errorf("CreateUser(bob) = %+v, want no password, not admin, enabled, display name bob", b)
		}
		_, hash, err := s.UserByName(ctx, "bob")
		if err != nil || hash != "" {
			t.Errorf("UserByName(bob) hash = %q, %v; want empty", hash, err)
		}
		if n, err := s.CountUsers(ctx); err != nil || n != 2 {
			t.Errorf("CountUsers = %d, %v; want 2", n, err)
		}
	})
}

func testCreateUserInvalid(t *testing.T, s store.Store) {
	for _, name := range []string{"", "Alice"} {
		if _, err := s.CreateUser(t.Context(), store.NewUser{Name: name}); err == nil {
			t.Errorf("CreateUser(%q) succeeded, want an error", name)
		}
	}
	if n, err := s.CountUsers(t.Context()); err != nil || n != 0 {
		t.Errorf("CountUsers = %d, %v after invalid creates; want 0", n, err)
	}
}

func testUserNameUnique(t *testing.T, s store.Store) {
	first := mustUser(t, s, "alice")
	_, err := s.CreateUser(t.Context(), store.NewUser{Name: "alice", DisplayName: "Another"})
	wantErrIs(t, "CreateUser with a taken name", err, store.ErrExists)
	got, err := s.GetUser(t.Context(), first.ID)
	if err != nil || got.DisplayName != first.DisplayName {
		t.Errorf("first user after a duplicate create = %+v, %v", got, err)
	}
	if n, _ := s.CountUsers(t.Context()); n != 1 {
		t.Errorf("CountUsers = %d, want 1", n)
	}
}

func testUserNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.GetUser(ctx, 4242)
	wantErrIs(t, "GetUser", err, store.ErrNotFound)
	_, _, err = s.UserByName(ctx, "nobody")
	wantErrIs(t, "UserByName", err, store.ErrNotFound)
	wantErrIs(t, "SetPassword", s.SetPassword(ctx, 4242, "h"), store.ErrNotFound)
	wantErrIs(t, "SetServerAdmin", s.SetServerAdmin(ctx, 4242, true), store.ErrNotFound)
	wantErrIs(t, "SetDisabled", s.SetDisabled(ctx, 4242, true), store.ErrNotFound)
}

func testListUsers(t *testing.T, s store.Store) {
	got, err := s.ListUsers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || len(got) != 0 {
		t.Errorf("ListUsers on an empty store = %#v, want an empty, non-nil slice", got)
	}
	for _, n := range []string{"carol", "alice", "bob"} {
		mustUser(t, s, n)
	}
	got, err = s.ListUsers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range got {
		names = append(names, u.Name)
		if !u.HasPassword {
			t.Errorf("%s: HasPassword false", u.Name)
		}
	}
	if diff := cmp.Diff([]string{"alice", "bob", "carol"}, names); diff != "" {
		t.Errorf("ListUsers order (-want +got):\n%s", diff)
	}
}

func testSetServerAdmin(t *testing.T, s store.Store) {
	u := mustUser(t, s, "alice")
	for _, admin := range []bool{true, true, false} {
		if err := s.SetServerAdmin(t.Context(), u.ID, admin); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetUser(t.Context(), u.ID)
		if err != nil || got.ServerAdmin != admin {
			t.Errorf("after SetServerAdmin(%v): %+v, %v", admin, got, err)
		}
	}
}

func testSetPasswordEndsSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice, bob := mustUser(t, s, "alice"), mustUser(t, s, "bob")
	later := time.Now().Add(time.Hour)
	mustSession(t, s, "a1", alice.ID, later)
	mustSession(t, s, "a2", alice.ID, later)
	mustSession(t, s, "b1", bob.ID, later)
	if err := s.SetPassword(ctx, alice.ID, "$argon2id$new"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a1", "a2"} {
		_, err := s.GetSession(ctx, sha256Hex(id))
		wantErrIs(t, "session "+id+" after SetPassword", err, store.ErrNotFound)
	}
	if _, err := s.GetSession(ctx, sha256Hex("b1")); err != nil {
		t.Errorf("another user's session after SetPassword: %v", err)
	}
	u, hash, err := s.UserByName(ctx, "alice")
	if err != nil || hash != "$argon2id$new" || !u.HasPassword {
		t.Errorf("after SetPassword: %+v, hash %q, %v", u, hash, err)
	}
	// Clearing the password is allowed too (a reset by link).
	if err := s.SetPassword(ctx, bob.ID, ""); err != nil {
		t.Fatal(err)
	}
	if u, err := s.GetUser(ctx, bob.ID); err != nil || u.HasPassword {
		t.Errorf("after clearing the password: %+v, %v", u, err)
	}
	_, err = s.GetSession(ctx, sha256Hex("b1"))
	wantErrIs(t, "session after clearing the password", err, store.ErrNotFound)
}

func testSetDisabledEndsSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice, bob := mustUser(t, s, "alice"), mustUser(t, s, "bob")
	later := time.Now().Add(time.Hour)
	mustSession(t, s, "a1", alice.ID, later)
	mustSession(t, s, "b1", bob.ID, later)
	if err := s.SetDisabled(ctx, alice.ID, true); err != nil {
		t.Fatal(err)
	}
	_, err := s.GetSession(ctx, sha256Hex("a1"))
	wantErrIs(t, "session after SetDisabled", err, store.ErrNotFound)
	if _, err := s.GetSession(ctx, sha256Hex("b1")); err != nil {
		t.Errorf("another user's session after SetDisabled: %v", err)
	}
	if u, err := s.GetUser(ctx, alice.ID); err != nil || !u.Disabled {
		t.Errorf("after SetDisabled: %+v, %v", u, err)
	}
	// A disabled user gets no new session.
	err = s.CreateSession(ctx, store.Session{IDHash: sha256Hex("a2"), UserID: alice.ID, CSRFHash: "c", ExpiresAt: later})
	if err == nil {
		t.Error("CreateSession for a disabled user succeeded")
	}
	if _, err := s.GetSession(ctx, sha256Hex("a2")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session of a disabled user: %v, want ErrNotFound", err)
	}
	if err := s.SetDisabled(ctx, alice.ID, false); err != nil {
		t.Fatal(err)
	}
	if u, err := s.GetUser(ctx, alice.ID); err != nil || u.Disabled {
		t.Errorf("after re-enabling: %+v, %v", u, err)
	}
	mustSession(t, s, "a3", alice.ID, later)
}

// --- sessions ---

func testSession(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	expires := time.Now().Add(12 * time.Hour)
	from := time.Now()
	mustSession(t, s, "s1", u.ID, expires)
	to := time.Now()
	got, err := s.GetSession(ctx, sha256Hex("s1"))
	if err != nil {
		t.Fatal(err)
	}
	between(t, "CreatedAt", got.CreatedAt, from, to)
	want := &store.Session{IDHash: sha256Hex("s1"), UserID: u.ID, CSRFHash: sha256Hex("csrf-s1"),
		CreatedAt: got.CreatedAt, ExpiresAt: expires.UTC().Truncate(time.Microsecond)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetSession (-want +got):\n%s", diff)
	}
	if err := s.DeleteSession(ctx, sha256Hex("s1")); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetSession(ctx, sha256Hex("s1"))
	wantErrIs(t, "GetSession after DeleteSession", err, store.ErrNotFound)
	if err := s.DeleteSession(ctx, sha256Hex("s1")); err != nil {
		t.Errorf("DeleteSession of no session: %v, want nil", err)
	}
}

func testSessionErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	later := time.Now().Add(time.Hour)
	_, err := s.GetSession(ctx, sha256Hex("nope"))
	wantErrIs(t, "GetSession of an unknown session", err, store.ErrNotFound)
	err = s.CreateSession(ctx, store.Session{IDHash: sha256Hex("x"), UserID: 4242, CSRFHash: "c", ExpiresAt: later})
	wantErrIs(t, "CreateSession for an unknown user", err, store.ErrNotFound)
	mustSession(t, s, "s1", u.ID, later)
	err = s.CreateSession(ctx, store.Session{IDHash: sha256Hex("s1"), UserID: u.ID, CSRFHash: "other", ExpiresAt: later})
	wantErrIs(t, "CreateSession with a taken ID", err, store.ErrExists)
	if got, err := s.GetSession(ctx, sha256Hex("s1")); err != nil || got.CSRFHash != sha256Hex("csrf-s1") {
		t.Errorf("session after a duplicate create = %+v, %v; want it unchanged", got, err)
	}
}

func testSessionExpired(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	mustSession(t, s, "old", u.ID, time.Now().Add(-time.Second))
	_, err := s.GetSession(ctx, sha256Hex("old"))
	wantErrIs(t, "GetSession of an expired session", err, store.ErrGone)
	// ... which GetSession deleted.
	_, err = s.GetSession(ctx, sha256Hex("old"))
	wantErrIs(t, "GetSession of an expired session, again", err, store.ErrNotFound)
}

// --- sign-in links ---

func testLink(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	if err := s.CreateLink(ctx, sha256Hex("link"), u.ID, time.Now().Add(15*time.Minute)); err != nil {
		t.Fatal(err)
	}
	id, err := s.UseLink(ctx, sha256Hex("link"))
	if err != nil || id != u.ID {
		t.Fatalf("UseLink = %d, %v; want %d", id, err, u.ID)
	}
	_, err = s.UseLink(ctx, sha256Hex("link"))
	wantErrIs(t, "UseLink of a used link", err, store.ErrGone)
}

func testLinkErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	later := time.Now().Add(time.Hour)
	_, err := s.UseLink(ctx, sha256Hex("nope"))
	wantErrIs(t, "UseLink of an unknown link", err, store.ErrNotFound)
	wantErrIs(t, "CreateLink for an unknown user", s.CreateLink(ctx, sha256Hex("x"), 4242, later), store.ErrNotFound)
	if err := s.CreateLink(ctx, sha256Hex("l1"), u.ID, later); err != nil {
		t.Fatal(err)
	}
	wantErrIs(t, "CreateLink with a taken hash", s.CreateLink(ctx, sha256Hex("l1"), u.ID, later), store.ErrExists)
	if err := s.CreateLink(ctx, sha256Hex("expired"), u.ID, time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	_, err = s.UseLink(ctx, sha256Hex("expired"))
	wantErrIs(t, "UseLink of an expired link", err, store.ErrGone)
}

func testUseLinkConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	if err := s.CreateLink(ctx, sha256Hex("once"), u.ID, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	const n = 16
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, n)
		ids   = make([]int64, n)
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ids[i], errs[i] = s.UseLink(ctx, sha256Hex("once"))
		}()
	}
	close(start)
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
			if ids[i] != u.ID {
				t.Errorf("winner got user %d, want %d", ids[i], u.ID)
			}
		case !errors.Is(err, store.ErrGone):
			t.Errorf("use %d: %v, want ErrGone", i, err)
		}
	}
	if wins != 1 {
		t.Errorf("%d of %d concurrent uses succeeded, want exactly 1", wins, n)
	}
}

// --- tokens ---

func testCreateToken(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	mustCreate(t, s, "shop")
	expires := time.Now().Add(30 * 24 * time.Hour)
	nt := newToken(u.ID, "ci", "secret-ci")
	nt.Project, nt.ExpiresAt = "shop", &expires
	from := time.Now()
	tok := mustToken(t, s, nt)
	to := time.Now()
	if tok.ID <= 0 {
		t.Errorf("ID = %d, want one set by the store", tok.ID)
	}
	between(t, "CreatedAt", tok.CreatedAt, from, to)
	want := &store.Token{ID: tok.ID, UserID: u.ID, Name: "ci", Prefix: "bpt_secr", Project: "shop",
		Role: store.RoleDeployer, CreatedAt: tok.CreatedAt, ExpiresAt: ptr(expires.UTC().Truncate(time.Microsecond))}
	if diff := cmp.Diff(want, tok); diff != "" {
		t.Errorf("CreateToken (-want +got):\n%s", diff)
	}
	got, err := s.TokenByHash(ctx, sha256Hex("secret-ci"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tok, got); diff != "" {
		t.Errorf("TokenByHash differs from CreateToken (-create +get):\n%s", diff)
	}
	_, err = s.TokenByHash(ctx, sha256Hex("unknown"))
	wantErrIs(t, "TokenByHash of an unknown token", err, store.ErrNotFound)

	t.Run("AllProjectsNoExpiry", func(t *testing.T) {
		tok := mustToken(t, s, store.NewToken{UserID: u.ID, Name: "laptop", Hash: sha256Hex("secret-laptop"), Prefix: "bpt_lap", Role: store.RoleViewer})
		got, err := s.TokenByHash(ctx, sha256Hex("secret-laptop"))
		if err != nil {
			t.Fatal(err)
		}
		if got.Project != "" || got.ExpiresAt != nil || got.LastUsedAt != nil || got.RevokedAt != nil || got.Role != store.RoleViewer {
			t.Errorf("token = %+v, want no project, no expiry, never used, not revoked, viewer", got)
		}
		if diff := cmp.Diff(tok, got); diff != "" {
			t.Errorf("TokenByHash differs from CreateToken (-create +get):\n%s", diff)
		}
	})
}

func testCreateTokenErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice, bob := mustUser(t, s, "alice"), mustUser(t, s, "bob")
	mustToken(t, s, newToken(alice.ID, "ci", "secret-1"))
	for _, tc := range []struct {
		name   string
		nt     store.NewToken
		target error // nil: any error
	}{
		{"NameTaken", newToken(alice.ID, "ci", "secret-2"), store.ErrExists},
		{"HashTaken", newToken(alice.ID, "other", "secret-1"), store.ErrExists},
		{"HashTakenByAnotherUser", newToken(bob.ID, "ci", "secret-1"), store.ErrExists},
		{"UnknownUser", newToken(4242, "ci", "secret-3"), store.ErrNotFound},
		{"UnknownProject", func() store.NewToken { nt := newToken(alice.ID, "p", "secret-4"); nt.Project = "nope"; return nt }(), store.ErrNotFound},
		{"BadRole", func() store.NewToken { nt := newToken(alice.ID, "r", "secret-5"); nt.Role = "owner"; return nt }(), nil},
		{"NoRole", func() store.NewToken { nt := newToken(alice.ID, "r", "secret-6"); nt.Role = ""; return nt }(), nil},
		{"NoHash", func() store.NewToken { nt := newToken(alice.ID, "h", "secret-7"); nt.Hash = ""; return nt }(), nil},
		{"NoName", newToken(alice.ID, "", "secret-8"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateToken(ctx, tc.nt)
			if tc.target != nil {
				wantErrIs(t, "CreateToken", err, tc.target)
			} else if err == nil {
				t.Error("CreateToken succeeded, want an error")
			}
		})
	}
	// The same name is fine for another user.
	mustToken(t, s, newToken(bob.ID, "ci", "secret-9"))
	if toks, err := s.ListTokens(ctx, alice.ID); err != nil || len(toks) != 1 {
		t.Errorf("alice's tokens = %d, %v; want 1", len(toks), err)
	}
}

func testTokenNameFreedByRevoke(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	old := mustToken(t, s, newToken(u.ID, "ci", "secret-old"))
	if err := s.RevokeToken(ctx, u.ID, old.ID); err != nil {
		t.Fatal(err)
	}
	tok := mustToken(t, s, newToken(u.ID, "ci", "secret-new"))
	if tok.ID == old.ID {
		t.Error("the new token reuses the old one's ID")
	}
	// The revoked token's hash stays taken.
	_, err := s.CreateToken(ctx, newToken(u.ID, "again", "secret-old"))
	wantErrIs(t, "CreateToken with a revoked token's hash", err, store.ErrExists)
}

func testTokenExpired(t *testing.T, s store.Store) {
	u := mustUser(t, s, "alice")
	nt := newToken(u.ID, "ci", "secret-exp")
	nt.ExpiresAt = ptr(time.Now().Add(-time.Second))
	created := mustToken(t, s, nt)
	tok, err := s.TokenByHash(t.Context(), nt.Hash)
	wantErrIs(t, "TokenByHash of an expired token", err, store.ErrGone)
	if tok == nil || tok.ID != created.ID {
		t.Errorf("TokenByHash of an expired token returned %+v, want the token", tok)
	}
}

func testRevokeToken(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice, bob := mustUser(t, s, "alice"), mustUser(t, s, "bob")
	tok := mustToken(t, s, newToken(alice.ID, "ci", "secret-ci"))
	wantErrIs(t, "RevokeToken of another user's token", s.RevokeToken(ctx, bob.ID, tok.ID), store.ErrNotFound)
	wantErrIs(t, "RevokeToken of an unknown token", s.RevokeToken(ctx, alice.ID, tok.ID+100), store.ErrNotFound)
	if _, err := s.TokenByHash(ctx, sha256Hex("secret-ci")); err != nil {
		t.Fatalf("token after failed revokes: %v", err)
	}
	from := time.Now()
	if err := s.RevokeToken(ctx, alice.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	to := time.Now()
	got, err := s.TokenByHash(ctx, sha256Hex("secret-ci"))
	wantErrIs(t, "TokenByHash of a revoked token", err, store.ErrGone)
	if got == nil || got.RevokedAt == nil {
		t.Fatalf("TokenByHash of a revoked token returned %+v, want it with RevokedAt", got)
	}
	between(t, "RevokedAt", *got.RevokedAt, from, to)
	wantUTC(t, "RevokedAt", *got.RevokedAt)
	// Revoking again is no error and keeps the first time.
	if err := s.RevokeToken(ctx, alice.ID, tok.ID); err != nil {
		t.Errorf("RevokeToken again: %v", err)
	}
	again, _ := s.TokenByHash(ctx, sha256Hex("secret-ci"))
	if again == nil || again.RevokedAt == nil || !again.RevokedAt.Equal(*got.RevokedAt) {
		t.Errorf("RevokedAt after a second revoke = %+v, want %v", again, got.RevokedAt)
	}
}

func testListTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice, bob := mustUser(t, s, "alice"), mustUser(t, s, "bob")
	got, err := s.ListTokens(ctx, alice.ID)
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("ListTokens with none = %#v, %v; want an empty, non-nil slice", got, err)
	}
	a1 := mustToken(t, s, newToken(alice.ID, "one", "secret-a1"))
	mustToken(t, s, newToken(bob.ID, "bobs", "secret-b1"))
	a2 := mustToken(t, s, newToken(alice.ID, "two", "secret-a2"))
	if err := s.RevokeToken(ctx, alice.ID, a1.ID); err != nil {
		t.Fatal(err)
	}
	got, err = s.ListTokens(ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tok := range got {
		names = append(names, tok.Name)
	}
	if diff := cmp.Diff([]string{"two", "one"}, names); diff != "" {
		t.Errorf("ListTokens (-want +got):\n%s", diff)
	}
	if len(got) == 2 && (got[0].ID != a2.ID || got[0].RevokedAt != nil || got[1].RevokedAt == nil) {
		t.Errorf("ListTokens = %+v, want two (live) then one (revoked)", got)
	}
}

func testTouchToken(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	tok := mustToken(t, s, newToken(u.ID, "ci", "secret-ci"))
	lastUsed := func() *time.Time {
		t.Helper()
		got, err := s.TokenByHash(ctx, sha256Hex("secret-ci"))
		if err != nil {
			t.Fatal(err)
		}
		return got.LastUsedAt
	}
	at := time.Now().Add(time.Hour).In(time.FixedZone("X", 3600)) // a future, non-UTC time
	if err := s.TouchToken(ctx, tok.ID, at); err != nil {
		t.Fatal(err)
	}
	want := at.UTC().Truncate(time.Microsecond)
	if got := lastUsed(); got == nil || !got.Equal(want) || got.Location() != time.UTC {
		t.Fatalf("LastUsedAt = %v, want %v in UTC", got, want)
	}
	// Within a minute: not recorded again.
	if err := s.TouchToken(ctx, tok.ID, at.Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(); got == nil || !got.Equal(want) {
		t.Errorf("LastUsedAt after a touch 30s later = %v, want still %v", got, want)
	}
	// Later: recorded.
	if err := s.TouchToken(ctx, tok.ID, at.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(); got == nil || !got.Equal(want.Add(2*time.Minute)) {
		t.Errorf("LastUsedAt after a touch 2m later = %v, want %v", got, want.Add(2*time.Minute))
	}
	if err := s.TouchToken(ctx, tok.ID+100, at); err != nil {
		t.Errorf("TouchToken of a token that is gone: %v, want nil", err)
	}
}

func testEnsureToken(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "admin")
	nt := newToken(u.ID, "bootstrap", "secret-bootstrap-value")
	nt.Role = store.RoleAdmin
	first, err := s.EnsureToken(ctx, nt)
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.EnsureToken(ctx, nt)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("second EnsureToken differs (-first +second):\n%s", diff)
	}
	got, err := s.TokenByHash(ctx, nt.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, got); diff != "" {
		t.Errorf("TokenByHash differs from EnsureToken (-ensure +get):\n%s", diff)
	}
	if toks, _ := s.ListTokens(ctx, u.ID); len(toks) != 1 {
		t.Errorf("%d tokens after two EnsureToken calls, want 1", len(toks))
	}

	t.Run("SameNameOtherValue", func(t *testing.T) {
		other := nt
		other.Hash = sha256Hex("another-value")
		_, err := s.EnsureToken(ctx, other)
		wantErrIs(t, "EnsureToken with a taken name", err, store.ErrExists)
	})
	t.Run("RevokedStaysRevoked", func(t *testing.T) {
		if err := s.RevokeToken(ctx, u.ID, first.ID); err != nil {
			t.Fatal(err)
		}
		tok, err := s.EnsureToken(ctx, nt)
		if err != nil {
			t.Fatal(err)
		}
		if tok.ID != first.ID || tok.RevokedAt == nil {
			t.Errorf("EnsureToken of a revoked token = %+v, want it, still revoked", tok)
		}
		_, err = s.TokenByHash(ctx, nt.Hash)
		wantErrIs(t, "TokenByHash after EnsureToken of a revoked token", err, store.ErrGone)
	})
	t.Run("UnknownUser", func(t *testing.T) {
		_, err := s.EnsureToken(ctx, newToken(4242, "bootstrap", "secret-x"))
		wantErrIs(t, "EnsureToken for an unknown user", err, store.ErrNotFound)
	})
}

func testEnsureTokenConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "admin")
	nt := newToken(u.ID, "bootstrap", "secret-bootstrap-value")
	const n = 12
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		toks  = make([]*store.Token, n)
		errs  = make([]error, n)
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			toks[i], errs[i] = s.EnsureToken(ctx, nt)
		}()
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("EnsureToken %d: %v", i, errs[i])
		}
		if toks[i].ID != toks[0].ID {
			t.Errorf("EnsureToken %d returned token %d, the first %d", i, toks[i].ID, toks[0].ID)
		}
	}
	if got, err := s.ListTokens(ctx, u.ID); err != nil || len(got) != 1 {
		t.Errorf("tokens after %d concurrent EnsureToken calls: %d, %v; want 1", n, len(got), err)
	}
}

func testProjectTokenGoesWithProject(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	mustCreate(t, s, "shop")
	nt := newToken(u.ID, "ci", "secret-shop")
	nt.Project = "shop"
	mustToken(t, s, nt)
	all := mustToken(t, s, newToken(u.ID, "laptop", "secret-all"))
	if _, err := s.DeleteProject(ctx, "shop", "alice"); err != nil {
		t.Fatal(err)
	}
	_, err := s.TokenByHash(ctx, nt.Hash)
	wantErrIs(t, "TokenByHash of a deleted project's token", err, store.ErrNotFound)
	mustCreate(t, s, "shop")
	_, err = s.TokenByHash(ctx, nt.Hash)
	wantErrIs(t, "TokenByHash of the old project's token after re-creating the slug", err, store.ErrNotFound)
	toks, err := s.ListTokens(ctx, u.ID)
	if err != nil || len(toks) != 1 || toks[0].ID != all.ID {
		t.Errorf("tokens after DeleteProject = %+v, %v; want only the all-projects one", toks, err)
	}
}

// --- members ---

func testMembers(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "shop")
	carol, alice := mustUser(t, s, "carol"), mustUser(t, s, "alice")
	got, err := s.ListMembers(ctx, "shop")
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("ListMembers with none = %#v, %v; want an empty, non-nil slice", got, err)
	}
	from := time.Now()
	m, err := s.SetMember(ctx, "shop", carol.ID, store.RoleViewer)
	to := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	between(t, "AddedAt", m.AddedAt, from, to)
	want := &store.Member{Project: "shop", UserID: carol.ID, UserName: "carol", Role: store.RoleViewer, AddedAt: m.AddedAt}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("SetMember (-want +got):\n%s", diff)
	}
	if _, err := s.SetMember(ctx, "shop", alice.ID, store.RoleAdmin); err != nil {
		t.Fatal(err)
	}

	// Changing a role keeps AddedAt.
	changed, err := s.SetMember(ctx, "shop", carol.ID, store.RoleDeployer)
	if err != nil {
		t.Fatal(err)
	}
	if changed.Role != store.RoleDeployer || !changed.AddedAt.Equal(m.AddedAt) {
		t.Errorf("after a role change: %+v, want deployer added at %v", changed, m.AddedAt)
	}
	if r, err := s.MemberRole(ctx, "shop", carol.ID); err != nil || r != store.RoleDeployer {
		t.Errorf("MemberRole = %q, %v; want deployer", r, err)
	}

	got, err = s.ListMembers(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, m := range got {
		rows = append(rows, fmt.Sprintf("%s:%s", m.UserName, m.Role))
	}
	if diff := cmp.Diff([]string{"alice:admin", "carol:deployer"}, rows); diff != "" {
		t.Errorf("ListMembers, by user name (-want +got):\n%s", diff)
	}

	if err := s.RemoveMember(ctx, "shop", carol.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.MemberRole(ctx, "shop", carol.ID)
	wantErrIs(t, "MemberRole after RemoveMember", err, store.ErrNotFound)
	wantErrIs(t, "RemoveMember again", s.RemoveMember(ctx, "shop", carol.ID), store.ErrNotFound)
	if got, _ := s.ListMembers(ctx, "shop"); len(got) != 1 || got[0].UserID != alice.ID {
		t.Errorf("members after RemoveMember = %+v, want alice only", got)
	}
}

func testMemberErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "shop")
	u := mustUser(t, s, "alice")
	_, err := s.SetMember(ctx, "nope", u.ID, store.RoleViewer)
	wantErrIs(t, "SetMember of an unknown project", err, store.ErrNotFound)
	_, err = s.SetMember(ctx, "shop", 4242, store.RoleViewer)
	wantErrIs(t, "SetMember of an unknown user", err, store.ErrNotFound)
	for _, r := range []store.Role{"", "owner", "Admin"} {
		if _, err := s.SetMember(ctx, "shop", u.ID, r); err == nil {
			t.Errorf("SetMember with role %q succeeded", r)
		}
	}
	_, err = s.ListMembers(ctx, "nope")
	wantErrIs(t, "ListMembers of an unknown project", err, store.ErrNotFound)
	_, err = s.MemberRole(ctx, "shop", u.ID)
	wantErrIs(t, "MemberRole of a non-member", err, store.ErrNotFound)
	_, err = s.MemberRole(ctx, "nope", u.ID)
	wantErrIs(t, "MemberRole in an unknown project", err, store.ErrNotFound)
	wantErrIs(t, "RemoveMember of a non-member", s.RemoveMember(ctx, "shop", u.ID), store.ErrNotFound)
	if got, _ := s.ListMembers(ctx, "shop"); len(got) != 0 {
		t.Errorf("members after failed calls = %+v, want none", got)
	}
}

func testUserProjects(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice, bob := mustUser(t, s, "alice"), mustUser(t, s, "bob")
	got, err := s.UserProjects(ctx, alice.ID)
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("UserProjects with none = %#v, %v; want an empty, non-nil slice", got, err)
	}
	for _, p := range []string{"web", "api", "shop"} {
		mustCreate(t, s, p)
	}
	for _, tc := range []struct {
		project string
		user    int64
		role    store.Role
	}{
		{"web", alice.ID, store.RoleEditor},
		{"api", alice.ID, store.RoleViewer},
		{"shop", bob.ID, store.RoleAdmin},
	} {
		if _, err := s.SetMember(ctx, tc.project, tc.user, tc.role); err != nil {
			t.Fatal(err)
		}
	}
	got, err = s.UserProjects(ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, m := range got {
		rows = append(rows, fmt.Sprintf("%s:%s:%s", m.Project, m.UserName, m.Role))
		wantUTC(t, "AddedAt", m.AddedAt)
	}
	if diff := cmp.Diff([]string{"api:alice:viewer", "web:alice:editor"}, rows); diff != "" {
		t.Errorf("UserProjects, by slug (-want +got):\n%s", diff)
	}
}

func testMembersGoWithProject(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "shop")
	mustCreate(t, s, "blog")
	alice, bob := mustUser(t, s, "alice"), mustUser(t, s, "bob")
	for _, id := range []int64{alice.ID, bob.ID} {
		if _, err := s.SetMember(ctx, "shop", id, store.RoleEditor); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.SetMember(ctx, "blog", alice.ID, store.RoleViewer); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteProject(ctx, "shop", "alice"); err != nil {
		t.Fatalf("DeleteProject of a project with members: %v", err)
	}
	_, err := s.ListMembers(ctx, "shop")
	wantErrIs(t, "ListMembers of a deleted project", err, store.ErrNotFound)
	if got, err := s.UserProjects(ctx, alice.ID); err != nil || len(got) != 1 || got[0].Project != "blog" {
		t.Errorf("alice's projects after deleting shop = %+v, %v; want blog only", got, err)
	}
	if got, err := s.UserProjects(ctx, bob.ID); err != nil || len(got) != 0 {
		t.Errorf("bob's projects after deleting shop = %+v, %v; want none", got, err)
	}

	mustCreate(t, s, "shop")
	got, err := s.ListMembers(ctx, "shop")
	if err != nil || len(got) != 0 {
		t.Errorf("members of the re-created shop = %+v, %v; want none", got, err)
	}
	_, err = s.MemberRole(ctx, "shop", alice.ID)
	wantErrIs(t, "MemberRole in the re-created shop", err, store.ErrNotFound)
	// The users themselves are still there.
	if _, err := s.GetUser(ctx, bob.ID); err != nil {
		t.Errorf("GetUser(bob) after deleting his project: %v", err)
	}
}

// --- times, errors, audit ---

// testAuthTimesAreUTC passes times in another zone, with nanoseconds, and
// reads back UTC times truncated to the microsecond.
func testAuthTimesAreUTC(t *testing.T, s store.Store) {
	ctx := t.Context()
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	expires := time.Now().Add(time.Hour).In(zone).Add(789 * time.Nanosecond)
	want := expires.UTC().Truncate(time.Microsecond)
	u := mustUser(t, s, "alice")
	wantUTC(t, "User.CreatedAt", u.CreatedAt)
	if got, err := s.GetUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	} else {
		wantUTC(t, "GetUser CreatedAt", got.CreatedAt)
	}
	mustSession(t, s, "s", u.ID, expires)
	ss, err := s.GetSession(ctx, sha256Hex("s"))
	if err != nil {
		t.Fatal(err)
	}
	wantUTC(t, "Session.CreatedAt", ss.CreatedAt)
	wantUTC(t, "Session.ExpiresAt", ss.ExpiresAt)
	if !ss.ExpiresAt.Equal(want) {
		t.Errorf("Session.ExpiresAt = %v, want %v", ss.ExpiresAt, want)
	}
	nt := newToken(u.ID, "ci", "secret-ci")
	nt.ExpiresAt = &expires
	created := mustToken(t, s, nt)
	tok, err := s.TokenByHash(ctx, nt.Hash)
	if err != nil {
		t.Fatal(err)
	}
	for what, ts := range map[string]time.Time{"Token.CreatedAt": tok.CreatedAt, "Token.ExpiresAt": *tok.ExpiresAt,
		"created Token.ExpiresAt": *created.ExpiresAt} {
		wantUTC(t, what, ts)
	}
	if *tok.ExpiresAt != want || *created.ExpiresAt != want {
		t.Errorf("Token.ExpiresAt = %v (created %v), want %v", *tok.ExpiresAt, *created.ExpiresAt, want)
	}
	if created.CreatedAt != tok.CreatedAt {
		t.Errorf("CreatedAt: CreateToken %v, TokenByHash %v", created.CreatedAt, tok.CreatedAt)
	}
	mustCreate(t, s, "shop")
	m, err := s.SetMember(ctx, "shop", u.ID, store.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := s.ListMembers(ctx, "shop")
	if err != nil || len(ms) != 1 {
		t.Fatalf("ListMembers = %+v, %v", ms, err)
	}
	wantUTC(t, "Member.AddedAt", ms[0].AddedAt)
	if ms[0].AddedAt != m.AddedAt {
		t.Errorf("AddedAt: SetMember %v, ListMembers %v", m.AddedAt, ms[0].AddedAt)
	}
}

// testAuthErrorsNameSubjectNotSecret: errors name the operation and its
// subject, and never quote a hash the caller passed.
func testAuthErrorsNameSubjectNotSecret(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	later := time.Now().Add(time.Hour)
	secretHash := sha256Hex("super-secret")
	mustToken(t, s, newToken(u.ID, "ci", "super-secret"))
	mustSession(t, s, "super-secret", u.ID, later)
	if err := s.CreateLink(ctx, secretHash, u.ID, later); err != nil {
		t.Fatal(err)
	}
	_, errToken := s.CreateToken(ctx, store.NewToken{UserID: u.ID, Name: "other", Hash: secretHash, Prefix: "bpt_", Role: store.RoleViewer})
	errSession := s.CreateSession(ctx, store.Session{IDHash: secretHash, UserID: u.ID, CSRFHash: secretHash, ExpiresAt: later})
	errLink := s.CreateLink(ctx, secretHash, u.ID, later)
	_, errUse := s.UseLink(ctx, sha256Hex("unknown"))
	_, errGet := s.GetSession(ctx, sha256Hex("unknown"))
	_, errLookup := s.TokenByHash(ctx, sha256Hex("unknown"))
	_, errUser := s.CreateUser(ctx, store.NewUser{Name: "alice", PasswordHash: secretHash})
	errMember := s.RemoveMember(ctx, "shop", u.ID)
	for _, tc := range []struct {
		name   string
		err    error
		target error
		prefix string
	}{
		{"CreateToken", errToken, store.ErrExists, fmt.Sprintf("store: create token for user %d: ", u.ID)},
		{"CreateSession", errSession, store.ErrExists, fmt.Sprintf("store: create session for user %d: ", u.ID)},
		{"CreateLink", errLink, store.ErrExists, fmt.Sprintf("store: create sign-in link for user %d: ", u.ID)},
		{"UseLink", errUse, store.ErrNotFound, "store: use sign-in link: "},
		{"GetSession", errGet, store.ErrNotFound, "store: get session: "},
		{"TokenByHash", errLookup, store.ErrNotFound, "store: look up token: "},
		{"CreateUser", errUser, store.ErrExists, "store: create user alice: "},
		{"RemoveMember", errMember, store.ErrNotFound, fmt.Sprintf("store: remove user %d from shop: ", u.ID)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErrIs(t, tc.name, tc.err, tc.target)
			msg := tc.err.Error()
			if !strings.HasPrefix(msg, tc.prefix) {
				t.Errorf("error %q does not start with %q", msg, tc.prefix)
			}
			for _, secret := range []string{secretHash, sha256Hex("unknown"), "super-secret"} {
				if strings.Contains(msg, secret) {
					t.Errorf("error %q quotes a secret or its hash", msg)
				}
			}
		})
	}
}

// testAuditAddress: the address is stored, returned, and kept when the
// project is deleted.
func testAuditAddress(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "shop")
	for _, e := range []store.AuditEvent{
		{Project: "shop", Actor: "alice", Action: "schema.save", Address: "192.0.2.7"},
		{Project: "shop", Actor: "alice", Action: "deploy", Address: "2001:db8::1"},
		{Project: "", Actor: "mallory", Action: "user.login_failed", Address: "198.51.100.9", Detail: "mallory"},
		{Project: "shop", Actor: "backplane", Action: "autodeploy"},
	} {
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	addresses := func(es []store.AuditEvent) []string {
		out := []string{}
		for _, e := range es {
			out = append(out, e.Action+"@"+e.Address)
		}
		return out
	}
	all, err := s.ListAudit(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"autodeploy@", "user.login_failed@198.51.100.9", "deploy@2001:db8::1", "schema.save@192.0.2.7"}
	if diff := cmp.Diff(want, addresses(all)); diff != "" {
		t.Errorf("ListAudit addresses (-want +got):\n%s", diff)
	}
	if _, err := s.DeleteProject(ctx, "shop", "alice"); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListAudit(ctx, "shop", 0)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"project.delete@", "autodeploy@", "deploy@2001:db8::1", "schema.save@192.0.2.7"}
	if diff := cmp.Diff(want, addresses(got)); diff != "" {
		t.Errorf("ListAudit addresses of the deleted project (-want +got):\n%s", diff)
	}
	for _, e := range got {
		if e.DeletedProject == 0 {
			t.Errorf("event %d of the deleted project has no DeletedProject", e.ID)
		}
	}
}
