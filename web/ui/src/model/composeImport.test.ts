import { describe, expect, it } from 'vitest';
import { composeBody, composeName, defaultSlug, dnsLabel, importSlugError, isEnvFile, parseProfiles, sortPicked, warningText, type PickedFile } from './composeImport';

const f = (name: string, content = 'services: {}\n'): PickedFile => ({ name, content });
const names = (fs: PickedFile[]) => fs.map((x) => x.name);

describe('isEnvFile', () => {
  it('takes .env and NAME.env', () => {
    for (const n of ['.env', 'prod.env', 'local.env']) expect(isEnvFile(n)).toBe(true);
  });
  it('leaves compose files', () => {
    for (const n of ['docker-compose.yml', 'compose.yaml', 'env.yml', '.envrc', 'environment.yml']) expect(isEnvFile(n)).toBe(false);
  });
});

describe('sortPicked', () => {
  it('puts the main file first, then the overrides by name, and the env apart', () => {
    const { compose, env } = sortPicked([f('docker-compose.prod.yml'), f('.env'), f('docker-compose.override.yml'), f('docker-compose.yml')]);
    expect(names(compose)).toEqual(['docker-compose.yml', 'docker-compose.override.yml', 'docker-compose.prod.yml']);
    expect(names(env)).toEqual(['.env']);
  });
  it('knows every main name compose looks for', () => {
    for (const main of ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml']) {
      expect(names(sortPicked([f('a-override.yml'), f(main)]).compose)).toEqual([main, 'a-override.yml']);
    }
  });
  it('prefers compose.yaml when several main names are picked, as compose does', () => {
    expect(names(sortPicked([f('docker-compose.yml'), f('compose.yaml')]).compose)).toEqual(['compose.yaml', 'docker-compose.yml']);
  });
  it('sorts by name without a main file, and does not change its input', () => {
    const picked = [f('b.yml'), f('a.yml')];
    expect(names(sortPicked(picked).compose)).toEqual(['a.yml', 'b.yml']);
    expect(names(picked)).toEqual(['b.yml', 'a.yml']);
  });
});

describe('parseProfiles', () => {
  it('splits on commas, trims, drops blanks and repeats', () => {
    expect(parseProfiles('')).toEqual([]);
    expect(parseProfiles(' web , debug,,web, ')).toEqual(['web', 'debug']);
  });
});

describe('dnsLabel', () => {
  it('makes a slug of a compose name as the server does', () => {
    expect(dnsLabel('bookshelf')).toBe('bookshelf');
    expect(dnsLabel('My_Shop.v2')).toBe('my-shop-v2');
    expect(dnsLabel('__x__')).toBe('x');
    expect(dnsLabel('2fa')).toBe('s-2fa');
    expect(dnsLabel('!!!')).toBe('');
    expect(dnsLabel('a'.repeat(70))).toHaveLength(63);
  });
});

describe('composeName and defaultSlug', () => {
  it('reads the name, the last file that sets it winning', () => {
    const files = [f('docker-compose.yml', 'name: storefront\nservices: {}\n'), f('docker-compose.override.yml', 'services: {}\n')];
    expect(composeName(files)).toBe('storefront');
    expect(composeName([...files, f('prod.yml', 'name: Storefront_Prod\n')])).toBe('Storefront_Prod');
    expect(defaultSlug([...files, f('prod.yml', 'name: Storefront_Prod\n')])).toBe('storefront-prod');
  });
  it('gives none without a name, for an interpolated one, or for a file that is not YAML', () => {
    expect(defaultSlug([f('docker-compose.yml')])).toBeUndefined();
    expect(defaultSlug([f('docker-compose.yml', 'name: ${PROJECT}\nservices: {}\n')])).toBeUndefined();
    expect(defaultSlug([f('docker-compose.yml', 'services: [unclosed\n')])).toBeUndefined();
    expect(defaultSlug([f('docker-compose.yml', '- a list\n')])).toBeUndefined();
  });
});

describe('importSlugError', () => {
  it('holds to the server limit of 40 characters', () => {
    expect(importSlugError('a'.repeat(40))).toBeUndefined();
    expect(importSlugError('a'.repeat(41))).toMatch(/40/);
    expect(importSlugError('Shop')).toBeDefined();
  });
});

describe('composeBody', () => {
  const main = f('docker-compose.yml', 'name: shop\nservices:\n  web: {image: nginx}\n');
  it('builds the request: compose files in order, the env apart, profiles, no project when the files name it', () => {
    const { body, error } = composeBody([f('docker-compose.override.yml'), f('.env', 'A=1\n'), main], '', 'web, debug');
    expect(error).toBeUndefined();
    expect(body).toEqual({
      files: [main, f('docker-compose.override.yml')],
      env: 'A=1\n',
      profiles: ['web', 'debug'],
    });
  });
  it('sends the slug typed', () => {
    expect(composeBody([main], ' shop-eu ', '').body).toEqual({ files: [main], project: 'shop-eu' });
  });
  it('says what stops the import', () => {
    expect(composeBody([], '', '').error).toMatch(/Pick a docker-compose.yml/);
    expect(composeBody([f('.env')], '', '').error).toMatch(/only .env files/);
    expect(composeBody([main, f('.env'), f('prod.env')], '', '').error).toMatch(/one .env file, not 2 \(.env, prod.env\)/);
    expect(composeBody([main], 'Shop', '').error).toMatch(/^Slug: /);
    expect(composeBody([f('docker-compose.yml')], '', '').error).toMatch(/no project name: give the project a slug/);
    expect(composeBody([f('docker-compose.yml', `name: ${'a'.repeat(41)}\n`)], '', '').error).toMatch(/over 40 characters/);
  });
});

describe('warningText', () => {
  it('is FILE: PATH: message, leaving out what is empty', () => {
    expect(warningText({ file: 'docker-compose.yml', path: 'services.web.environment.SECRET_KEY_BASE', message: 'became secret' })).toBe(
      'docker-compose.yml: services.web.environment.SECRET_KEY_BASE: became secret',
    );
    expect(warningText({ file: 'docker-compose.yml', path: '', message: 'm' })).toBe('docker-compose.yml: m');
  });
});
