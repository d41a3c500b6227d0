package store

import "testing"

func TestRoleOrder(t *testing.T) {
	for _, tc := range []struct {
		r, o    Role
		atLeast bool
		lower   Role
	}{
		{RoleAdmin, RoleViewer, true, RoleViewer},
		{RoleViewer, RoleAdmin, false, RoleViewer},
		{RoleDeployer, RoleEditor, true, RoleEditor},
		{RoleEditor, RoleEditor, true, RoleEditor},
		// An unknown role may do nothing, and lowering with it gives it.
		{RoleAdmin, "", false, ""},
		{"", RoleAdmin, false, ""},
		{RoleViewer, "owner", false, "owner"},
		{"owner", RoleViewer, false, "owner"},
	} {
		if got := tc.r.AtLeast(tc.o); got != tc.atLeast {
			t.Errorf("%q.AtLeast(%q) = %v, want %v", tc.r, tc.o, got, tc.atLeast)
		}
		if got := tc.r.Lower(tc.o); got != tc.lower {
			t.Errorf("%q.Lower(%q) = %q, want %q", tc.r, tc.o, got, tc.lower)
		}
	}
	for _, r := range Roles {
		if !r.Valid() {
			t.Errorf("%q is not Valid", r)
		}
	}
	if Role("").Valid() || Role("Admin").Valid() {
		t.Error("an unknown role is Valid")
	}
}
