import { describe, expect, it } from 'vitest';
import { isSignInPage, parseRoute, safeNext, signInPath } from './router';

describe('parseRoute', () => {
  it('knows every page', () => {
    expect(parseRoute('/')).toEqual({ page: 'projects' });
    expect(parseRoute('/p/shop')).toEqual({ page: 'editor', slug: 'shop' });
    expect(parseRoute('/p/shop/')).toEqual({ page: 'editor', slug: 'shop' });
    expect(parseRoute('/p/shop', '', '?element=api')).toEqual({ page: 'editor', slug: 'shop', element: 'api' });
    expect(parseRoute('/p/shop', '', '?element=')).toEqual({ page: 'editor', slug: 'shop' });
    expect(parseRoute('/p/shop/audit')).toEqual({ page: 'audit', slug: 'shop' });
    expect(parseRoute('/p/shop/logs')).toEqual({ page: 'logs', slug: 'shop' });
    expect(parseRoute('/p/shop/logs/', '', '?element=api')).toEqual({ page: 'logs', slug: 'shop' });
    expect(parseRoute('/tokens')).toEqual({ page: 'tokens' });
    expect(parseRoute('/users/')).toEqual({ page: 'users' });
    expect(parseRoute('/sign-in')).toEqual({ page: 'sign-in', next: '/' });
    expect(parseRoute('/sign-in', '', '?next=%2Fp%2Fshop')).toEqual({ page: 'sign-in', next: '/p/shop' });
    expect(parseRoute('/sign-in/link', '#abc')).toEqual({ page: 'link' });
    expect(parseRoute('/nowhere')).toEqual({ page: 'projects' });
  });
  it('takes the hash form too', () => {
    expect(parseRoute('/', '#/p/shop')).toEqual({ page: 'editor', slug: 'shop' });
    expect(parseRoute('/', '#/p/shop/audit')).toEqual({ page: 'audit', slug: 'shop' });
    expect(parseRoute('/', '#/p/shop/logs')).toEqual({ page: 'logs', slug: 'shop' });
  });
  it('tells the pages a signed-out user may see', () => {
    expect(isSignInPage(parseRoute('/sign-in'))).toBe(true);
    expect(isSignInPage(parseRoute('/sign-in/link'))).toBe(true);
    expect(isSignInPage(parseRoute('/p/shop'))).toBe(false);
  });
});

describe('safeNext', () => {
  it('keeps a path of this site, with its query', () => {
    expect(safeNext('/p/shop')).toBe('/p/shop');
    expect(safeNext('/tokens?x=1')).toBe('/tokens?x=1');
  });
  it('never leaves the site', () => {
    for (const bad of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)', 'p/shop', '', null, undefined, '/p/\nx']) {
      expect(safeNext(bad), String(bad)).toBe('/');
    }
  });
  it('does not come back to the sign-in pages', () => {
    expect(safeNext('/sign-in')).toBe('/');
    expect(safeNext('/sign-in/')).toBe('/');
    expect(safeNext('/sign-in?next=/p/shop')).toBe('/');
    expect(safeNext('/sign-in/link')).toBe('/');
    expect(safeNext('/sign-in-help')).toBe('/sign-in-help');
  });
});

describe('signInPath', () => {
  it('remembers where the user was', () => {
    expect(signInPath('/p/shop')).toBe('/sign-in?next=%2Fp%2Fshop');
    expect(signInPath('/p/shop/audit?limit=500')).toBe('/sign-in?next=%2Fp%2Fshop%2Faudit%3Flimit%3D500');
    expect(parseRoute('/sign-in', '', signInPath('/p/shop/audit?limit=500').slice('/sign-in'.length))).toEqual({ page: 'sign-in', next: '/p/shop/audit?limit=500' });
  });
  it('needs no next for the projects list or a sign-in page', () => {
    expect(signInPath('/')).toBe('/sign-in');
    expect(signInPath('/sign-in?next=%2Fp%2Fx')).toBe('/sign-in');
  });
});
