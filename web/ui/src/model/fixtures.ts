// Test fixtures: the real kinds info (`backplane kinds --json`) and the
// example shop schema.
import kindsJson from './testdata/kinds.json';
import { kindMap, type KindInfo, type Schema } from './types';

export const KINDS: KindInfo[] = (kindsJson as { kinds: KindInfo[] }).kinds;
export const KIND_MAP = kindMap(KINDS);

export function shop(): Schema {
  return {
    version: 1,
    project: 'shop',
    namespace: 'default',
    mesh: false,
    regions: { eu: { datacenters: ['eu-west-1'] }, us: { datacenters: ['us-east-1'] } },
    defaults: { region: 'eu', driver: 'docker' },
    receivers: {
      'api-team': { slack: { channel: '#api', webhook_url_secret: 'SLACK_URL' } },
      oncall: { email: { to: 'oncall@example.com' } },
    },
    elements: [
      {
        id: 'api',
        kind: 'app.nodejs',
        version: '22',
        source: { repo: 'https://github.com/acme/api.git', branch: 'main', autodeploy: true, build: 'npm ci', start: 'npm start' },
        port: 3000,
        env: { NODE_ENV: 'production', LOG_FORMAT: 'json' },
        secrets: ['STRIPE_KEY'],
        resources: { cpu: 300, memory: 256 },
        scale: { count: 2, min: 2, max: 8, cpu_target: 70 },
        health: { http: '/healthz' },
        placement: { regions: ['eu', 'us'] },
        alerts: { receivers: ['api-team', 'oncall'] },
      },
      { id: 'db', kind: 'db.mongodb', version: '7', volume: { name: 'mongo-data', size_mb: 10240 }, alerts: { receivers: ['oncall'] } },
      { id: 'cache', kind: 'cache.redis', volume: { name: 'redis-data' } },
      { id: 'mailer', kind: 'worker', image: 'python:3.12-slim', command: 'python3 -m mailer', secrets: ['SMTP_PASSWORD'] },
      { id: 'nightly', kind: 'cron', image: 'python:3.12-slim', schedule: '0 3 * * *', command: 'python3 -m report --since yesterday' },
      { id: 'lb', kind: 'lb.nginx', port: 80, upstream: { policy: 'least_conn' }, scale: { count: 2 }, placement: { regions: ['eu', 'us'] } },
    ],
    connections: [
      { from: 'lb', to: 'api', route: { path: '/' } },
      { from: 'api', to: 'db' },
      { from: 'api', to: 'cache' },
      { from: 'mailer', to: 'db', env: 'MAIL_DB_URL' },
      { from: 'nightly', to: 'db' },
    ],
    layout: {
      lb: { x: 40, y: 120 },
      api: { x: 320, y: 120 },
      db: { x: 620, y: 60 },
      cache: { x: 620, y: 200 },
      mailer: { x: 320, y: 300 },
      nightly: { x: 320, y: 420 },
    },
  };
}
