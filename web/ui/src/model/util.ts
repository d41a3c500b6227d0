// Small pure helpers the pages use: project slugs, kind grouping, render
// file picking, exported env names.
import type { Element, KindInfo } from './types';

export const SLUG_RE = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

// slugError says what is wrong with a project slug (a lowercase DNS label),
// or undefined when it is fine.
export function slugError(slug: string): string | undefined {
  if (!slug) return 'Slug is required';
  if (slug.length > 63) return 'At most 63 characters';
  if (!SLUG_RE.test(slug)) return 'Lowercase letters, digits and "-", starting with a letter and not ending with "-"';
  return undefined;
}

// sentence starts a server message (lowercase, as Go errors are) with a
// capital, to show it alone.
export function sentence(s: string): string {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}

export function formatTime(s?: string): string {
  if (!s) return '';
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) return s;
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

const CATEGORY_ORDER = ['app', 'database', 'cache', 'queue', 'network', 'worker'];

// groupKinds filters kinds by a search query and groups them by category,
// known categories first in palette order, then others by name.
export function groupKinds(kinds: KindInfo[], query: string): [string, KindInfo[]][] {
  const q = query.trim().toLowerCase();
  const groups = new Map<string, KindInfo[]>();
  for (const k of kinds) {
    if (q && ![k.name, k.label, k.category, k.description ?? ''].some((s) => s.toLowerCase().includes(q))) continue;
    const cat = k.category || 'other';
    if (!groups.has(cat)) groups.set(cat, []);
    groups.get(cat)!.push(k);
  }
  const rank = (c: string) => {
    const i = CATEGORY_ORDER.indexOf(c);
    return i < 0 ? CATEGORY_ORDER.length : i;
  };
  return [...groups.entries()].sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0]));
}

// pickFiles finds, in a render's files map, the element's job files (one per
// region), its Vault policy and the alert routes.
export function pickFiles(files: Record<string, string>, project: string, id: string) {
  const job = `${project}-${id}`;
  const hcl: Record<string, string> = {};
  const json: Record<string, string> = {};
  for (const [path, body] of Object.entries(files)) {
    const slash = path.lastIndexOf('/');
    const dir = slash >= 0 ? path.slice(0, slash) : '';
    const base = path.slice(slash + 1);
    if (dir === 'vault') continue;
    if (base === `${job}.nomad.hcl`) hcl[dir || 'global'] = body;
    if (base === `${job}.nomad.json`) json[dir || 'global'] = body;
  }
  const vault = files[`vault/${job}.policy.hcl`];
  const alert = files['alertmanager.yml'];
  return { hcl, json, vault, alert };
}

// exportedEnv is the env var a connection to el injects by default.
export function exportedEnv(el: Element, kind?: KindInfo): string {
  const e = kind?.exports?.[0]?.env;
  const idEnv = el.id.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  if (!e) return `${idEnv}_URL`;
  return e.replace('{ID}', idEnv);
}
