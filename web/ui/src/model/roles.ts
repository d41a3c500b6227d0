// Who may do what: the signed-in user (GET /auth/me), their role in each
// project, and what the editor shows for a role. The server decides (web/
// routes.go answers 403 to a role too low); this only keeps the editor from
// offering what would be refused. Pure: no React, no fetch.

// Roles from the least to the most privileged; each may do everything the
// ones before it may (store.Roles).
export const ROLES = ['viewer', 'editor', 'deployer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  id: number;
  name: string;
  display_name?: string;
  server_admin: boolean;
  has_password?: boolean;
  disabled?: boolean;
  created_at?: string;
}

export interface ProjectRole {
  project: string;
  role: Role;
}

// Me is GET /auth/me: the caller, how they authenticated, the CSRF token of
// their session, and their role in each project they may see.
export interface Me {
  user: User;
  auth?: 'session' | 'token';
  csrf_token?: string;
  projects: ProjectRole[];
}

export function isRole(x: unknown): x is Role {
  return typeof x === 'string' && (ROLES as readonly string[]).includes(x);
}

// rank is a role's place in ROLES, -1 for anything else.
export function rank(r: string | undefined): number {
  return r === undefined ? -1 : (ROLES as readonly string[]).indexOf(r);
}

// atLeast reports whether role r may do what `need` may. An unknown or
// missing role may do nothing.
export function atLeast(r: string | undefined, need: Role): boolean {
  const a = rank(r);
  return a >= 0 && a >= rank(need);
}

// roleIn is the user's role in a project: admin everywhere for a server
// admin, else the one /auth/me lists, else undefined (no role: the server
// answers 404 for the project).
export function roleIn(me: Me | null | undefined, slug: string): Role | undefined {
  if (!me) return undefined;
  if (me.user.server_admin) return 'admin';
  const r = me.projects.find((p) => p.project === slug)?.role;
  return isRole(r) ? r : undefined;
}

// Permissions is what the editor offers in a project.
export interface Permissions {
  // view: read the schema, status, history, members; validate, render.
  view: boolean;
  // edit: change the canvas, the inspector, the YAML, and save.
  edit: boolean;
  // plan, deploy and roll back.
  deploy: boolean;
  // destroy jobs (an element's or the whole project's).
  destroy: boolean;
  // rename and delete the project.
  manageProject: boolean;
  // add, change and remove members.
  manageMembers: boolean;
  // read the project's audit log.
  audit: boolean;
}

// permissions follows the role table of web/API.md: viewer reads; editor
// also saves; deployer also plans, deploys and rolls back; admin also
// destroys, renames and deletes the project, manages members and reads the
// audit log.
export function permissions(role: string | undefined): Permissions {
  const admin = atLeast(role, 'admin');
  return {
    view: atLeast(role, 'viewer'),
    edit: atLeast(role, 'editor'),
    deploy: atLeast(role, 'deployer'),
    destroy: admin,
    manageProject: admin,
    manageMembers: admin,
    audit: admin,
  };
}

// readOnlyReason is the tooltip of the editor's read-only badge, or
// undefined when the role may edit.
export function readOnlyReason(role: string | undefined, slug: string): string | undefined {
  if (permissions(role).edit) return undefined;
  return role ? `Your role in ${slug} is ${role}: you can look, not change` : `You have no role in ${slug}`;
}

// canAdminServer: only server admins create projects and users.
export function canAdminServer(me: Me | null | undefined): boolean {
  return !!me?.user.server_admin;
}

// visibleProjects keeps the projects the user has a role in (all of them
// for a server admin), in the order given.
export function visibleProjects<P extends { slug: string }>(me: Me | null | undefined, projects: readonly P[]): P[] {
  if (!me) return [];
  if (me.user.server_admin) return [...projects];
  const mine = new Set(me.projects.map((p) => p.project));
  return projects.filter((p) => mine.has(p.slug));
}

// highestRole is the user's highest role in any project (admin for a server
// admin), undefined with none.
export function highestRole(me: Me | null | undefined): Role | undefined {
  if (!me) return undefined;
  if (me.user.server_admin) return 'admin';
  let top: Role | undefined;
  for (const p of me.projects) if (isRole(p.role) && rank(p.role) > rank(top)) top = p.role;
  return top;
}

// tokenRoles are the roles a new API token may have: none above the user's
// role in its project, or with no project (all of the user's projects)
// above their highest role anywhere; a user with no project may still make
// a viewer token for projects they join later (as the server allows).
export function tokenRoles(me: Me | null | undefined, project: string): Role[] {
  const cap = project ? roleIn(me, project) : (highestRole(me) ?? (me ? 'viewer' : undefined));
  if (!cap) return [];
  return ROLES.filter((r) => rank(r) <= rank(cap));
}

// displayName is how the header names a user.
export function displayName(u: User | undefined): string {
  if (!u) return '';
  return u.display_name && u.display_name !== u.name ? `${u.display_name} (${u.name})` : u.name;
}

// PASSWORD_MIN is the server's shortest password (web.MinPassword).
export const PASSWORD_MIN = 10;

// passwordProblem says what is wrong with a new password and its
// confirmation, or undefined when they will do.
export function passwordProblem(password: string, confirm: string): string | undefined {
  if ([...password].length < PASSWORD_MIN) return `At least ${PASSWORD_MIN} characters`;
  if (password !== confirm) return 'The two passwords differ';
  return undefined;
}

// USER_NAME_RE is the server's rule for sign-in names.
export const USER_NAME_RE = /^[a-z][a-z0-9._-]{0,63}$/;

export function userNameProblem(name: string): string | undefined {
  const n = name.trim().toLowerCase();
  if (!n) return 'Name is required';
  if (!USER_NAME_RE.test(n)) return "Lowercase letters, digits, '.', '_' and '-', starting with a letter (at most 64)";
  return undefined;
}

// EXPIRY_CHOICES are the token lifetimes the tokens page offers
// (expires_in; '' is no expiry).
export const EXPIRY_CHOICES: { value: string; label: string }[] = [
  { value: '7d', label: '7 days' },
  { value: '30d', label: '30 days' },
  { value: '90d', label: '90 days' },
  { value: '365d', label: '1 year' },
  { value: '', label: 'No expiry' },
];

// TokenInfo is a token as GET /tokens lists it.
export interface TokenInfo {
  id: number;
  name: string;
  prefix: string;
  project?: string;
  role: Role;
  created_at?: string;
  expires_at?: string | null;
  last_used_at?: string | null;
  revoked_at?: string | null;
}

// tokenState is how a token stands now: revoked, expired or active.
export function tokenState(t: TokenInfo, now: number = Date.now()): 'revoked' | 'expired' | 'active' {
  if (t.revoked_at) return 'revoked';
  if (t.expires_at) {
    const e = Date.parse(t.expires_at);
    if (!Number.isNaN(e) && e <= now) return 'expired';
  }
  return 'active';
}
