import { describe, expect, it } from 'vitest';
import {
  atLeast,
  canAdminServer,
  displayName,
  highestRole,
  isRole,
  passwordProblem,
  permissions,
  readOnlyReason,
  roleIn,
  ROLES,
  tokenRoles,
  tokenState,
  userNameProblem,
  visibleProjects,
  type Me,
  type TokenInfo,
} from './roles';

const user = (extra: Partial<Me['user']> = {}): Me['user'] => ({ id: 2, name: 'vera', server_admin: false, ...extra });
const vera: Me = {
  user: user(),
  auth: 'session',
  projects: [
    { project: 'shop', role: 'viewer' },
    { project: 'blog', role: 'deployer' },
  ],
};
const root: Me = { user: user({ id: 1, name: 'admin', server_admin: true }), projects: [{ project: 'shop', role: 'admin' }] };
const nobody: Me = { user: user({ name: 'nobody' }), projects: [] };

describe('atLeast', () => {
  it('orders viewer < editor < deployer < admin', () => {
    for (const [i, r] of ROLES.entries()) {
      for (const [j, need] of ROLES.entries()) expect(atLeast(r, need), `${r} >= ${need}`).toBe(i >= j);
    }
  });
  it('lets an unknown or missing role do nothing', () => {
    expect(atLeast(undefined, 'viewer')).toBe(false);
    expect(atLeast('', 'viewer')).toBe(false);
    expect(atLeast('owner', 'viewer')).toBe(false);
    expect(isRole('owner')).toBe(false);
    expect(isRole('deployer')).toBe(true);
  });
});

describe('roleIn', () => {
  it('reads the role /auth/me lists', () => {
    expect(roleIn(vera, 'shop')).toBe('viewer');
    expect(roleIn(vera, 'blog')).toBe('deployer');
  });
  it('has no role in a project not listed, and none when signed out', () => {
    expect(roleIn(vera, 'secret')).toBeUndefined();
    expect(roleIn(null, 'shop')).toBeUndefined();
    expect(roleIn(undefined, 'shop')).toBeUndefined();
  });
  it('makes a server admin admin everywhere, listed or not', () => {
    expect(roleIn(root, 'shop')).toBe('admin');
    expect(roleIn(root, 'created-after-sign-in')).toBe('admin');
  });
  it('ignores a role it does not know', () => {
    const odd = { ...vera, projects: [{ project: 'x', role: 'owner' as never }] };
    expect(roleIn(odd, 'x')).toBeUndefined();
  });
});

describe('permissions', () => {
  const table: [string | undefined, ReturnType<typeof permissions>][] = [
    [undefined, { view: false, edit: false, deploy: false, destroy: false, manageProject: false, manageMembers: false, audit: false }],
    ['viewer', { view: true, edit: false, deploy: false, destroy: false, manageProject: false, manageMembers: false, audit: false }],
    ['editor', { view: true, edit: true, deploy: false, destroy: false, manageProject: false, manageMembers: false, audit: false }],
    ['deployer', { view: true, edit: true, deploy: true, destroy: false, manageProject: false, manageMembers: false, audit: false }],
    ['admin', { view: true, edit: true, deploy: true, destroy: true, manageProject: true, manageMembers: true, audit: true }],
  ];
  for (const [role, want] of table) {
    it(`${role ?? 'no role'}`, () => expect(permissions(role)).toEqual(want));
  }
  it('says why the canvas is read-only', () => {
    expect(readOnlyReason('viewer', 'shop')).toBe('Your role in shop is viewer: you can look, not change');
    expect(readOnlyReason(undefined, 'shop')).toBe('You have no role in shop');
    expect(readOnlyReason('editor', 'shop')).toBeUndefined();
  });
});

describe('server admin things', () => {
  it('only server admins create projects and users', () => {
    expect(canAdminServer(root)).toBe(true);
    expect(canAdminServer(vera)).toBe(false);
    expect(canAdminServer(null)).toBe(false);
  });
  it('lists the projects the user has a role in; all for a server admin', () => {
    const ps = [{ slug: 'blog' }, { slug: 'secret' }, { slug: 'shop' }];
    expect(visibleProjects(vera, ps).map((p) => p.slug)).toEqual(['blog', 'shop']);
    expect(visibleProjects(root, ps)).toEqual(ps);
    expect(visibleProjects(nobody, ps)).toEqual([]);
    expect(visibleProjects(null, ps)).toEqual([]);
  });
});

describe('tokenRoles', () => {
  it('caps a project token at the role in the project', () => {
    expect(tokenRoles(vera, 'shop')).toEqual(['viewer']);
    expect(tokenRoles(vera, 'blog')).toEqual(['viewer', 'editor', 'deployer']);
    expect(tokenRoles(vera, 'secret')).toEqual([]);
  });
  it('caps an all-projects token at the highest role anywhere', () => {
    expect(highestRole(vera)).toBe('deployer');
    expect(tokenRoles(vera, '')).toEqual(['viewer', 'editor', 'deployer']);
    expect(tokenRoles(root, '')).toEqual([...ROLES]);
  });
  it('lets a user in no project make a viewer token (for projects they join later)', () => {
    expect(highestRole(nobody)).toBeUndefined();
    expect(tokenRoles(nobody, '')).toEqual(['viewer']);
    expect(tokenRoles(null, '')).toEqual([]);
  });
});

describe('tokenState', () => {
  const t = (extra: Partial<TokenInfo>): TokenInfo => ({ id: 1, name: 'ci', prefix: 'bpt_abcdefgh', role: 'deployer', ...extra });
  const now = Date.parse('2026-06-01T00:00:00Z');
  it('is revoked, expired or active', () => {
    expect(tokenState(t({}), now)).toBe('active');
    expect(tokenState(t({ expires_at: '2026-07-01T00:00:00Z' }), now)).toBe('active');
    expect(tokenState(t({ expires_at: '2026-05-01T00:00:00Z' }), now)).toBe('expired');
    expect(tokenState(t({ expires_at: '2026-07-01T00:00:00Z', revoked_at: '2026-05-02T00:00:00Z' }), now)).toBe('revoked');
  });
});

describe('forms', () => {
  it('wants a password of 10 characters, typed twice', () => {
    expect(passwordProblem('short', 'short')).toBe('At least 10 characters');
    expect(passwordProblem('long enough!', 'long enough?')).toBe('The two passwords differ');
    expect(passwordProblem('long enough!', 'long enough!')).toBeUndefined();
    // characters, not bytes
    expect(passwordProblem('ééééééééé', 'ééééééééé')).toBe('At least 10 characters');
    expect(passwordProblem('éééééééééé', 'éééééééééé')).toBeUndefined();
  });
  it('checks a sign-in name as the server does', () => {
    expect(userNameProblem('')).toBe('Name is required');
    expect(userNameProblem('vera')).toBeUndefined();
    expect(userNameProblem(' Vera ')).toBeUndefined(); // lowercased and trimmed on the way
    expect(userNameProblem('1vera')).toMatch(/starting with a letter/);
    expect(userNameProblem('ve ra')).toMatch(/Lowercase/);
  });
  it('names a user in the header', () => {
    expect(displayName(user({ display_name: 'Vera V' }))).toBe('Vera V (vera)');
    expect(displayName(user({ display_name: 'vera' }))).toBe('vera');
    expect(displayName(undefined)).toBe('');
  });
});
