// The projects page's "Import compose": sorting the picked files into the
// body of POST /import/compose (compose files in merge order, the .env
// apart), the slug the import would take, and the problems to show before
// sending anything.
import { parse } from 'yaml';
import { slugError } from './util';

// PickedFile is one file the user picked, read as text.
export interface PickedFile {
  name: string;
  content: string;
}

// ComposeBody is POST /import/compose's body.
export interface ComposeBody {
  files: PickedFile[];
  env?: string;
  profiles?: string[];
  project?: string;
}

// ComposeWarning is one thing the import did not carry over as written.
export interface ComposeWarning {
  file?: string;
  path?: string;
  message: string;
}

// MAIN_FILES are the names docker compose looks for, in its order of
// preference: the one picked goes first, the others are overrides.
export const MAIN_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];

// MAX_SLUG is the server's limit on a project slug (it prefixes job IDs).
export const MAX_SLUG = 40;

// isEnvFile: a file that holds variables for interpolation (`.env`,
// `prod.env`), not a compose file.
export function isEnvFile(name: string): boolean {
  return name === '.env' || name.endsWith('.env');
}

const byName = (a: PickedFile, b: PickedFile) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

// sortPicked splits the picked files into the compose files, in the order
// compose merges them (the main file first, then the overrides by name),
// and the env files (by name).
export function sortPicked(picked: PickedFile[]): { compose: PickedFile[]; env: PickedFile[] } {
  const env = picked.filter((f) => isEnvFile(f.name)).sort(byName);
  const rest = picked.filter((f) => !isEnvFile(f.name));
  const rank = (f: PickedFile) => {
    const i = MAIN_FILES.indexOf(f.name);
    return i < 0 ? MAIN_FILES.length : i;
  };
  const compose = [...rest].sort((a, b) => rank(a) - rank(b) || byName(a, b));
  return { compose, env };
}

// parseProfiles reads "web, debug" as ["web", "debug"], without blanks or
// repeats.
export function parseProfiles(s: string): string[] {
  const out: string[] = [];
  for (const p of s.split(',')) {
    const t = p.trim();
    if (t && !out.includes(t)) out.push(t);
  }
  return out;
}

// dnsLabel makes a compose project name a project slug, as the server's
// import does: lowercase, "-" for "_", "." and spaces, other characters
// dropped, "s-" before a leading digit.
export function dnsLabel(name: string): string {
  let b = '';
  for (const r of name.toLowerCase()) {
    if ((r >= 'a' && r <= 'z') || (r >= '0' && r <= '9')) b += r;
    else if ((r === '-' || r === '_' || r === '.' || r === ' ') && b !== '' && !b.endsWith('-')) b += '-';
  }
  let id = b.replace(/^-+|-+$/g, '');
  if (id !== '' && id[0] >= '0' && id[0] <= '9') id = 's-' + id;
  if (id.length > 63) id = id.slice(0, 63).replace(/-+$/, '');
  return id;
}

// composeName is the compose project's `name:`: the last compose file that
// sets it wins, as in a merge. A name that takes a variable (${NAME}), or
// a file that is not YAML, gives none here (the server reads it).
export function composeName(compose: PickedFile[]): string | undefined {
  let name: string | undefined;
  for (const f of compose) {
    let doc: unknown;
    try {
      doc = parse(f.content);
    } catch {
      continue;
    }
    if (doc && typeof doc === 'object' && !Array.isArray(doc)) {
      const n = (doc as Record<string, unknown>).name;
      if (typeof n === 'string' && n.trim() && !n.includes('$')) name = n.trim();
    }
  }
  return name;
}

// defaultSlug is the slug an import without one takes: the compose
// project's name as a DNS label, or undefined when the files name none.
export function defaultSlug(compose: PickedFile[]): string | undefined {
  const n = composeName(compose);
  const s = n === undefined ? '' : dnsLabel(n);
  return s || undefined;
}

// importSlugError says what is wrong with a slug typed for the import, as
// the server would (a DNS label of at most 40 characters).
export function importSlugError(slug: string): string | undefined {
  const e = slugError(slug);
  if (e) return e;
  if (slug.length > MAX_SLUG) return `At most ${MAX_SLUG} characters`;
  return undefined;
}

// composeBody builds the request, or says what stops it: no compose file,
// more than one env file, a bad slug, or no slug where the files name no
// project (the server would name it after its own folder).
export function composeBody(picked: PickedFile[], slug: string, profiles: string): { body?: ComposeBody; error?: string } {
  const { compose, env } = sortPicked(picked);
  if (compose.length === 0) {
    return { error: picked.length === 0 ? 'Pick a docker-compose.yml (and its .env, if it has one)' : 'Pick a compose file too: only .env files were picked' };
  }
  if (env.length > 1) {
    return { error: `Pick one .env file, not ${env.length} (${env.map((f) => f.name).join(', ')})` };
  }
  const s = slug.trim();
  if (s) {
    const e = importSlugError(s);
    if (e) return { error: `Slug: ${e}` };
  } else {
    const d = defaultSlug(compose);
    if (!d) return { error: 'The compose files set no project name: give the project a slug' };
    if (d.length > MAX_SLUG) return { error: `The compose project's name makes the slug "${d}", over ${MAX_SLUG} characters: give a shorter slug` };
  }
  const body: ComposeBody = { files: compose.map((f) => ({ name: f.name, content: f.content })) };
  if (env.length === 1) body.env = env[0].content;
  const ps = parseProfiles(profiles);
  if (ps.length) body.profiles = ps;
  if (s) body.project = s;
  return { body };
}

// warningText is a warning as the CLI prints it: FILE: PATH: message.
export function warningText(w: ComposeWarning): string {
  return [w.file, w.path, w.message].filter((x) => x).join(': ');
}
