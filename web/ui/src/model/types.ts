// The schema model, mirroring schema/types.go. YAML/JSON keys are the Go
// `yaml` tags. Every object keeps unknown keys (index signatures) so that a
// round trip through the editor never drops fields it does not know.

export interface Position {
  x: number;
  y: number;
  [k: string]: unknown;
}

export interface Region {
  datacenters?: string[];
  consul_datacenter?: string;
  [k: string]: unknown;
}

export interface Defaults {
  region?: string;
  driver?: string;
  [k: string]: unknown;
}

// A named alert destination (schema.Receiver): exactly one of slack,
// email or webhook. Fields ending in _secret name a project secret (set
// with `backplane secrets set`), never a value.
export interface Receiver {
  slack?: SlackReceiver;
  email?: EmailReceiver;
  webhook?: WebhookReceiver;
  [k: string]: unknown;
}

export interface SlackReceiver {
  channel: string;
  webhook_url_secret: string;
  [k: string]: unknown;
}

// EmailReceiver: to is one or more comma-separated addresses; the sender,
// SMTP server and login default to the Alertmanager's global smtp_*
// settings.
export interface EmailReceiver {
  to: string;
  from?: string;
  smarthost?: string;
  auth_username?: string;
  auth_password_secret?: string;
  [k: string]: unknown;
}

// WebhookReceiver: url, or url_secret when the URL carries a credential.
export interface WebhookReceiver {
  url?: string;
  url_secret?: string;
  [k: string]: unknown;
}

export interface Source {
  repo?: string;
  branch?: string;
  ref?: string;
  dir?: string;
  autodeploy?: boolean;
  // paths: the folders a push must touch to deploy (monorepos; only with
  // autodeploy).
  paths?: string[];
  build?: string;
  start?: string;
  [k: string]: unknown;
}

export interface Resources {
  cpu?: number;
  memory?: number;
  memory_max?: number;
  [k: string]: unknown;
}

export interface Scale {
  count?: number;
  min?: number;
  max?: number;
  cpu_target?: number;
  [k: string]: unknown;
}

export interface Health {
  http?: string;
  tcp?: boolean;
  interval?: string;
  timeout?: string;
  min_healthy_time?: string;
  [k: string]: unknown;
}

export interface Placement {
  regions?: string[];
  datacenters?: string[];
  [k: string]: unknown;
}

// An element's alerting (schema.Alerts): where its alerts go, and the
// conditions Backplane raises from what Nomad sees (unset takes the
// defaults in ALERT_DEFAULTS).
export interface Alerts {
  receivers?: string[];
  // RestartLoop fires at `restarts` restarts (or failed instances) within
  // restart_window.
  restarts?: number;
  restart_window?: string;
  // ElementDown fires when no instance has run for down_after while some
  // are wanted.
  down_after?: string;
  // CheckCritical fires when a health check has failed for check_after.
  check_after?: string;
  [k: string]: unknown;
}

// ALERT_DEFAULTS are the alert conditions of an element that sets none
// (schema.Alerts).
export const ALERT_DEFAULTS = { restarts: 3, restart_window: '10m', down_after: '1m', check_after: '1m' } as const;

export interface Volume {
  name?: string;
  size_mb?: number;
  [k: string]: unknown;
}

export interface Upstream {
  policy?: string;
  [k: string]: unknown;
}

export interface Element {
  id: string;
  kind: string;
  source?: Source;
  image?: string;
  version?: string;
  command?: string;
  args?: string[];
  schedule?: string;
  driver?: string;
  port?: number;
  env?: Record<string, string>;
  secrets?: string[];
  resources?: Resources;
  scale?: Scale;
  health?: Health;
  placement?: Placement;
  alerts?: Alerts;
  volume?: Volume;
  upstream?: Upstream;
  params?: Record<string, string>;
  [k: string]: unknown;
}

export interface Route {
  path?: string;
  [k: string]: unknown;
}

export interface Connection {
  from: string;
  to: string;
  env?: string;
  weight?: number;
  route?: Route;
  [k: string]: unknown;
}

export interface Schema {
  version: number;
  project: string;
  namespace?: string;
  mesh?: boolean;
  regions?: Record<string, Region>;
  defaults?: Defaults;
  receivers?: Record<string, Receiver>;
  elements: Element[];
  connections?: Connection[];
  layout?: Record<string, Position>;
  [k: string]: unknown;
}

// Kinds info, as GET /api/v1/kinds returns it.
export interface KindField {
  name: string;
  required?: boolean;
  options?: string[];
  help?: string;
}

export interface KindExport {
  env: string;
  url: string;
  open_url?: string;
}

export interface KindDefaults {
  port?: number;
  resources?: Resources;
  health?: Health;
  images?: Record<string, string>;
  driver?: string;
}

export interface KindInfo {
  name: string;
  label: string;
  category: string;
  icon: string;
  description?: string;
  fields: KindField[];
  exports?: KindExport[];
  service: boolean;
  connects: boolean;
  routes?: boolean;
  versions?: string[];
  defaults: KindDefaults;
  user?: boolean;
}

export type KindMap = Record<string, KindInfo>;

export function kindMap(kinds: KindInfo[]): KindMap {
  const m: KindMap = {};
  for (const k of kinds) m[k.name] = k;
  return m;
}

// A validation problem as the API reports it.
export interface Problem {
  path: string;
  message: string;
  line?: number;
  element?: string;
  field?: string;
}

// Element status, as GET /status and the `status` events carry it.
export interface Status {
  element: string;
  region: string;
  job_id?: string;
  state: string;
  desired?: number;
  running?: number;
  healthy?: number;
  version?: number;
  last_event?: string;
  updated_at?: string;
  // Set for an autoscaled element (jobs.Scaling): its bounds and recent
  // scaling events, newest first (at most 5). desired is then the count
  // the autoscaler chose.
  scaling?: Scaling;
}

// An autoscaled element's bounds and recent scaling events in one region.
export interface Scaling {
  min: number;
  max: number;
  events?: ScalingEvent[];
}

// One of Nomad's scaling events for a group (jobs.ScalingEvent): a count
// change (to set), or an autoscaler's note or error (no to).
export interface ScalingEvent {
  time: string;
  from: number;
  to?: number;
  // "autoscaler" when the Nomad Autoscaler made it, "scale API" for any
  // other caller of Nomad's scale endpoint.
  by?: string;
  message?: string;
  error?: boolean;
}

export const SCHEMA_KEYS = [
  'version',
  'project',
  'namespace',
  'mesh',
  'regions',
  'defaults',
  'receivers',
  'elements',
  'connections',
  'layout',
] as const;

export const ELEMENT_KEYS = [
  'id',
  'kind',
  'source',
  'image',
  'version',
  'command',
  'args',
  'schedule',
  'driver',
  'port',
  'env',
  'secrets',
  'resources',
  'scale',
  'health',
  'placement',
  'alerts',
  'volume',
  'upstream',
  'params',
] as const;

export const CONNECTION_KEYS = ['from', 'to', 'env', 'weight', 'route'] as const;

// Key order of nested objects, as the Go structs declare them.
export const NESTED_KEYS: Record<string, readonly string[]> = {
  source: ['repo', 'branch', 'ref', 'dir', 'autodeploy', 'paths', 'build', 'start'],
  resources: ['cpu', 'memory', 'memory_max'],
  scale: ['count', 'min', 'max', 'cpu_target'],
  health: ['http', 'tcp', 'interval', 'timeout', 'min_healthy_time'],
  placement: ['regions', 'datacenters'],
  alerts: ['receivers', 'restarts', 'restart_window', 'down_after', 'check_after'],
  volume: ['name', 'size_mb'],
  upstream: ['policy'],
  route: ['path'],
  position: ['x', 'y'],
  region: ['datacenters', 'consul_datacenter'],
  defaults: ['region', 'driver'],
  receiver: ['slack', 'email', 'webhook'],
  slack: ['channel', 'webhook_url_secret'],
  email: ['to', 'from', 'smarthost', 'auth_username', 'auth_password_secret'],
  webhook: ['url', 'url_secret'],
};

export const POLICIES = ['round_robin', 'least_conn', 'ip_hash'] as const;
export const DRIVERS = ['docker', 'exec', 'raw_exec'] as const;

// Light colours per API.md.
export type Light = 'grey' | 'amber' | 'green' | 'red';

export function stateLight(state: string | undefined): Light {
  switch (state) {
    case 'healthy':
      return 'green';
    case 'deploying':
    case 'running':
    case 'degraded':
      return 'amber';
    case 'failed':
      return 'red';
    default:
      return 'grey';
  }
}

// The combined light of several regions: red wins, then amber, then grey,
// green only when every region is green.
export function combineLights(lights: Light[]): Light {
  if (lights.length === 0) return 'grey';
  if (lights.includes('red')) return 'red';
  if (lights.includes('amber')) return 'amber';
  if (lights.every((l) => l === 'green')) return 'green';
  if (lights.includes('green')) return 'amber';
  return 'grey';
}

export const DEFAULT_REGION = 'global';

// The regions an element runs in, as schema.ElementRegions computes them.
export function elementRegions(schema: Schema, el: Element): string[] {
  const pr = el.placement?.regions;
  if (pr && pr.length > 0) return [...pr].sort();
  if (schema.defaults?.region) return [schema.defaults.region];
  const names = Object.keys(schema.regions ?? {});
  if (names.length === 1) return names;
  return [DEFAULT_REGION];
}
