import { describe, expect, it } from 'vitest';
import { hasSmtp, isSecretField, newReceiverRow, receiverProblems, receiverRows, rowsToReceivers, withType } from './receivers';
import type { Schema } from './types';

const receivers: Schema['receivers'] = {
  'api-team': { slack: { channel: '#api', webhook_url_secret: 'SLACK_URL' } },
  oncall: { email: { to: 'oncall@example.com', smarthost: 'smtp.example.com:587', auth_username: 'alerts', auth_password_secret: 'SMTP_PASSWORD' } },
  hook: { webhook: { url_secret: 'HOOK_URL', send_resolved: true } },
};

describe('receiverRows', () => {
  it('reads each type with its fields', () => {
    const rows = receiverRows(receivers);
    expect(rows.map((r) => [r.name, r.type])).toEqual([
      ['api-team', 'slack'],
      ['oncall', 'email'],
      ['hook', 'webhook'],
    ]);
    expect(rows[1].values).toEqual({ to: 'oncall@example.com', from: '', smarthost: 'smtp.example.com:587', auth_username: 'alerts', auth_password_secret: 'SMTP_PASSWORD' });
    expect(rows[2].values).toEqual({ url: '', url_secret: 'HOOK_URL' });
    expect(receiverRows(undefined)).toEqual([]);
  });
  it('round-trips, keeping keys the editor does not know', () => {
    expect(rowsToReceivers(receiverRows(receivers))).toEqual(receivers);
  });
});

describe('rowsToReceivers', () => {
  it('drops empty optional fields but keeps the required ones', () => {
    const [row] = receiverRows({ oncall: { email: { to: 'a@example.com', from: 'x@example.com' } } });
    const out = rowsToReceivers([{ ...row, values: { ...row.values, to: '', from: ' ' } }]);
    expect(out).toEqual({ oncall: { email: { to: '' } } });
    expect(rowsToReceivers([{ ...newReceiverRow(), name: 'team' }])).toEqual({ team: { slack: { channel: '', webhook_url_secret: '' } } });
  });
  it('trims values and names, and leaves out rows without a name', () => {
    const row = { ...newReceiverRow('webhook'), name: ' hook ', values: { url: ' https://hooks.example.com/x ' } };
    expect(rowsToReceivers([row, newReceiverRow()])).toEqual({ hook: { webhook: { url: 'https://hooks.example.com/x' } } });
    expect(rowsToReceivers([newReceiverRow()])).toBeUndefined();
  });
  it('changes type without keeping the old type body', () => {
    const [row] = receiverRows({ team: { slack: { channel: '#a', webhook_url_secret: 'S' } } });
    const email = withType(row, 'email');
    expect(email.values).toEqual({});
    expect(rowsToReceivers([{ ...email, values: { to: 'a@example.com' } }])).toEqual({ team: { email: { to: 'a@example.com' } } });
    expect(withType(row, 'slack')).toBe(row);
  });
});

describe('hasSmtp and isSecretField', () => {
  it('tells an email with SMTP settings', () => {
    const rows = receiverRows(receivers);
    expect(hasSmtp(rows[1])).toBe(true);
    expect(hasSmtp(receiverRows({ a: { email: { to: 'a@example.com' } } })[0])).toBe(false);
    expect(hasSmtp(rows[0])).toBe(false);
  });
  it('knows the fields that name secrets', () => {
    expect(isSecretField('auth_password_secret')).toBe(true);
    expect(isSecretField('webhook_url_secret')).toBe(true);
    expect(isSecretField('url')).toBe(false);
  });
});

describe('receiverProblems', () => {
  it('sorts problems by receiver and field', () => {
    const out = receiverProblems(
      [
        { path: 'receivers.oncall.email.smarthost', message: 'must be host:port' },
        { path: 'backplane.yaml: receivers.oncall.email.auth_username', message: 'is required with auth_password_secret' },
        { path: 'receivers.team.v1', message: 'exactly one of slack, email or webhook' },
        { path: 'receivers["odd name"].webhook.url', message: 'not a URL' },
        { path: 'receivers.a.b.slack.channel', message: 'is required' },
        { path: 'regions.eu', message: 'not about receivers' },
        { path: 'elements[api].alerts.receivers[0]', message: 'not declared', element: 'api' },
        { path: 'receivers.ghost.slack.channel', message: 'unknown receiver name' },
      ],
      ['oncall', 'team', 'odd name', 'a', 'a.b'],
    );
    expect(out).toEqual({
      oncall: { smarthost: ['must be host:port'], auth_username: ['is required with auth_password_secret'] },
      team: { '': ['exactly one of slack, email or webhook'] },
      'odd name': { url: ['not a URL'] },
      'a.b': { channel: ['is required'] },
    });
  });
  it('puts problems about a whole receiver under ""', () => {
    expect(receiverProblems([{ path: 'receivers.team', message: 'set one of slack, email or webhook' }], ['team'])).toEqual({
      team: { '': ['set one of slack, email or webhook'] },
    });
    expect(receiverProblems([{ path: 'receivers.team.slack', message: 'x' }], ['team'])).toEqual({ team: { '': ['x'] } });
  });
});
