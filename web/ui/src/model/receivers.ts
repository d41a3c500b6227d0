// The project's alert receivers as the Project settings panel edits them:
// one row per receiver with its type's fields as text, back to the
// schema's `receivers` map without losing keys the editor does not know,
// and validation problems mapped to the receiver field they are about.
// Pure: no React.
import { fieldSegments, parseProblemPath } from './form';
import type { Problem, Receiver, Schema } from './types';

export type ReceiverType = 'slack' | 'email' | 'webhook';

// RECEIVER_FIELDS are each type's fields, in the schema's order; the
// first is the main one (settings-receiver-a), and slack's and webhook's
// second is settings-receiver-b.
export const RECEIVER_FIELDS: Record<ReceiverType, readonly string[]> = {
  slack: ['channel', 'webhook_url_secret'],
  email: ['to', 'from', 'smarthost', 'auth_username', 'auth_password_secret'],
  webhook: ['url', 'url_secret'],
};

// Fields a schema requires even when empty (written as ""): slack's two.
const ALWAYS: Record<ReceiverType, readonly string[]> = {
  slack: ['channel', 'webhook_url_secret'],
  email: ['to'],
  webhook: [],
};

// isSecretField: the field names a project secret, not a value.
export function isSecretField(field: string): boolean {
  return field.endsWith('_secret');
}

export interface ReceiverRow {
  name: string;
  type: ReceiverType;
  // values: the type's fields as typed (missing = empty).
  values: Record<string, string>;
  // extra: the receiver as the schema had it, for keys kept as they are.
  extra: Receiver;
}

export function receiverType(r: Receiver | undefined): ReceiverType {
  if (r?.email) return 'email';
  if (r?.webhook) return 'webhook';
  return 'slack';
}

// receiverRows turns the schema's receivers into rows, in the map's order.
export function receiverRows(m: Schema['receivers']): ReceiverRow[] {
  return Object.entries(m ?? {}).map(([name, r]) => {
    const type = receiverType(r);
    const src = (r?.[type] ?? {}) as Record<string, unknown>;
    const values: Record<string, string> = {};
    for (const f of RECEIVER_FIELDS[type]) {
      const v = src[f];
      values[f] = v === undefined || v === null ? '' : String(v);
    }
    return { name, type, values, extra: r ?? {} };
  });
}

// rowsToReceivers turns rows back into the schema's map: a row without a
// name is left out; a field left empty is removed (but the ones the
// schema requires, written as ""); keys of the receiver the editor does
// not show are kept. Undefined when no row has a name.
export function rowsToReceivers(rows: readonly ReceiverRow[]): Schema['receivers'] {
  const out: Record<string, Receiver> = {};
  for (const r of rows) {
    const name = r.name.trim();
    if (!name) continue;
    const base: Receiver = { ...r.extra };
    delete base.slack;
    delete base.email;
    delete base.webhook;
    const body: Record<string, unknown> = { ...((r.extra[r.type] as Record<string, unknown> | undefined) ?? {}) };
    for (const f of RECEIVER_FIELDS[r.type]) {
      const v = (r.values[f] ?? '').trim();
      if (v || ALWAYS[r.type].includes(f)) body[f] = v;
      else delete body[f];
    }
    (base as Record<string, unknown>)[r.type] = body;
    out[name] = base;
  }
  return Object.keys(out).length ? out : undefined;
}

// newReceiverRow is the row "Add receiver" appends.
export function newReceiverRow(type: ReceiverType = 'slack'): ReceiverRow {
  return { name: '', type, values: {}, extra: {} };
}

// withType changes a row's type: the fields the two types share keep
// their value (none do today), the others start empty.
export function withType(row: ReceiverRow, type: ReceiverType): ReceiverRow {
  if (row.type === type) return row;
  const values: Record<string, string> = {};
  for (const f of RECEIVER_FIELDS[type]) if (row.values[f]) values[f] = row.values[f];
  return { ...row, type, values };
}

// hasSmtp: an email row sets any of the optional SMTP fields (the editor
// then shows them open).
export function hasSmtp(row: ReceiverRow): boolean {
  return row.type === 'email' && ['from', 'smarthost', 'auth_username', 'auth_password_secret'].some((f) => (row.values[f] ?? '').trim() !== '');
}

// receiverProblems sorts the project's problems about receivers by
// receiver name and field ('' for the receiver as a whole, or the type's
// field: `receivers.oncall.email.smarthost` → oncall, smarthost). Names
// are matched against the names given, so a name with dots works too.
export function receiverProblems(problems: readonly Problem[], names: readonly string[]): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  // Longest names first: `a.b` before `a`.
  const sorted = [...names].filter((n) => n).sort((a, b) => b.length - a.length);
  for (const p of problems) {
    const t = parseProblemPath(p.path ?? '');
    if (t.scope !== 'project' || p.element) continue;
    const path = t.field;
    if (!path.startsWith('receivers')) continue;
    const rest = path.slice('receivers'.length);
    let name: string | undefined;
    let tail = '';
    for (const n of sorted) {
      for (const form of [`.${n}`, `[${JSON.stringify(n)}]`]) {
        if (rest === form || rest.startsWith(`${form}.`) || rest.startsWith(`${form}[`)) {
          name = n;
          tail = rest.slice(form.length).replace(/^\./, '');
          break;
        }
      }
      if (name !== undefined) break;
    }
    if (name === undefined) continue;
    const seg = fieldSegments(tail);
    // [type, field, ...]: the field; [type] or nothing: the whole receiver.
    const field = seg.length >= 2 && typeof seg[1] === 'string' ? seg[1] : '';
    ((out[name] ??= {})[field] ??= []).push(p.message);
  }
  return out;
}
