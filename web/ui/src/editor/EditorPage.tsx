import {
  ReactFlowProvider,
  useReactFlow,
  type Connection as RFConnection,
  type EdgeChange,
  type NodeChange,
} from '@xyflow/react';
import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { alerts as alertsApi, api, ApiError, builds as buildsApi, errorMessage, isNoAlertmanager, problemsOf, type Deployment, type Head, type Health, type Project } from '../api';
import { useAuth } from '../auth';
import { alertBadges, countFiring, NO_ALERTMANAGER, type Alert, type Silence } from '../model/alerts';
import { commitsByElement, mergeCommits, type StoredCommit } from '../model/autodeploy';
import { buildingElements, isBuild, mergeBuilds, nodeLight, upsertBuild, type Build } from '../model/builds';
import { actionBlocked, clusterMissing as isClusterMissing, NO_CLUSTER, savedElementIds, upsertDeployment } from '../model/cluster';
import { connectionFieldTestId, fieldTestId, problemTarget } from '../model/form';
import {
  addConnection,
  addElement,
  canConnect,
  copyItems,
  edgeIds,
  fillLayout,
  pasteItems,
  removeItems,
  renameElement,
  schemaToGraph,
  setPositions,
  updateConnection,
  updateElement,
  type Clipboard,
  type ConnectionEdge,
} from '../model/graph';
import { canRedo, canUndo, initHistory, push, redo, replace, undo, type History } from '../model/history';
import { permissions, readOnlyReason, roleIn } from '../model/roles';
import {
  combineLights,
  elementRegions,
  kindMap,
  stateLight,
  type KindInfo,
  type Position,
  type Problem,
  type Schema,
  type Status,
} from '../model/types';
import { filtersToSearch } from '../model/logs';
import { elementInstances, nodeFigures, type MetricsSnapshot } from '../model/metrics';
import { yamlToSchema, type YamlError } from '../model/yaml';
import { LogsView } from '../logs/LogsView';
import { navigate } from '../router';
import type { Theme } from '../theme';
import { ClusterBadge } from '../ui/ClusterBadge';
import { Icon } from '../ui/icons';
import { OverflowMenu } from '../ui/Menu';
import { ThemeToggle } from '../ui/ThemeToggle';
import { useToast } from '../ui/toast';
import { UserMenu } from '../ui/UserMenu';
import { AlertsPanel, SilenceDialog } from './AlertsPanel';
import { BuildPanel } from './BuildPanel';
import { CanvasView } from './CanvasView';
import { ClusterOpDialog, type ClusterOp } from './ClusterOpDialog';
import { ConflictDialog } from './ConflictDialog';
import type { ViewNode } from './ElementNodeView';
import { HistoryPanel, type HistoryView } from './HistoryPanel';
import { EdgeInspector, ElementInspector } from './Inspector';
import { MembersPanel } from './MembersPanel';
// The Metrics tab (and uPlot) load when first opened.
const MetricsPanel = lazy(() => import('./MetricsPanel').then((m) => ({ default: m.MetricsPanel })));
import { Palette } from './Palette';
import { PlanDialog } from './PlanDialog';
import { PreviewPanel } from './PreviewPanel';
import { ProblemsPanel } from './ProblemsPanel';
import { SettingsPanel } from './SettingsPanel';
import { YamlView } from './YamlView';

interface Props {
  slug: string;
  // element: select this element (and show its inspector) once the schema
  // is loaded: /p/<slug>?element=<id>, where alerts link to.
  element?: string;
  theme: Theme;
  toggleTheme: () => void;
  health: Health | null;
}

export function EditorPage(props: Props) {
  return (
    <ReactFlowProvider>
      <Editor {...props} />
    </ReactFlowProvider>
  );
}

// normalizeSchema makes a schema from the server safe for the editor (Go may
// send `elements: null`).
function normalizeSchema(s: Schema | undefined, slug: string): Schema {
  const out: Schema = { ...(s ?? { version: 1, project: slug, elements: [] }) };
  if (!Array.isArray(out.elements)) out.elements = [];
  if (out.connections === null) delete out.connections;
  if (out.layout === null) delete out.layout;
  if (!out.project) out.project = slug;
  if (!out.version) out.version = 1;
  return out;
}

type Tab = 'inspector' | 'preview' | 'settings' | 'history' | 'members' | 'logs' | 'metrics' | 'alerts' | 'build';

// METRICS_STALE_MS: a snapshot no newer event replaced in this long is
// dropped (the nodes' figures hide): serve sends one every 5 s.
const METRICS_STALE_MS = 30_000;
interface Selection {
  nodes: string[];
  edges: string[];
}
const EMPTY_SEL: Selection = { nodes: [], edges: [] };

function Editor({ slug, element: linkedElement, theme, toggleTheme, health }: Props) {
  const toast = useToast();
  const rf = useReactFlow();
  // What the user's role lets them do here (web/API.md's role table): a
  // viewer sees the canvas read-only; an editor saves; a deployer plans,
  // deploys and rolls back; an admin also destroys and manages members.
  const { me, refresh: refreshMe } = useAuth();
  const role = roleIn(me, slug);
  const can = permissions(role);
  const readOnly = !can.edit;
  const readOnlyRef = useRef(readOnly);
  readOnlyRef.current = readOnly;
  // Roles change while signed in: read them again when a project opens.
  useEffect(() => {
    void refreshMe();
  }, [refreshMe]);

  const [kinds, setKinds] = useState<KindInfo[]>([]);
  const [kindsError, setKindsError] = useState('');
  const kinds_ = useMemo(() => kindMap(kinds), [kinds]);
  const [project, setProject] = useState<Project | null>(null);
  const [hist, setHist] = useState<History<Schema> | null>(null);
  const schema = hist?.present;
  const schemaRef = useRef<Schema | undefined>(schema);
  schemaRef.current = schema;
  const [loadError, setLoadError] = useState('');
  const [etag, setEtag] = useState('');
  const [revision, setRevision] = useState(0);
  const [savedJson, setSavedJson] = useState('');
  const [problems, setProblems] = useState<Problem[]>([]);
  const [warnings, setWarnings] = useState<Problem[]>([]);
  const [validating, setValidating] = useState(false);
  const [validateError, setValidateError] = useState('');
  const [selection, setSelection] = useState<Selection>(EMPTY_SEL);
  const [view, setView] = useState<'canvas' | 'yaml'>('canvas');
  const [yamlError, setYamlError] = useState<YamlError | null>(null);
  const [tab, setTab] = useState<Tab>('inspector');
  const [statuses, setStatuses] = useState<Record<string, Status>>({});
  const [remote, setRemote] = useState<{ revision: number; etag?: string; author?: string } | null>(null);
  const [conflict, setConflict] = useState<Head | null>(null);
  const [saving, setSaving] = useState(false);
  const [message, setMessage] = useState('');
  const [planOpen, setPlanOpen] = useState(false);
  const [deployment, setDeployment] = useState<Deployment | null>(null);
  // The project's deployments, for the commit each element built from
  // source runs (the nodes' commit line); kept up by the `deployment` events.
  const [deploys, setDeploys] = useState<Deployment[] | null>(null);
  // The commit each element built from source runs, as the server
  // records it (with the commit's author); read again after each deploy.
  const [stored, setStored] = useState<StoredCommit[] | null>(null);
  const [noCluster, setNoCluster] = useState(false);
  const [op, setOp] = useState<ClusterOp | null>(null);
  const [historyView, setHistoryView] = useState<HistoryView>('revisions');
  const [focus, setFocus] = useState<{ testid: string; n: number } | null>(null);
  const [measured, setMeasured] = useState<Record<string, { width: number; height: number }>>({});
  // The project's alerts, live from the `alert` events (null: not read
  // yet); alertsOff: the server has no Alertmanager (its message), and
  // nothing about alerts is asked again.
  const [alertList, setAlertList] = useState<Alert[] | null>(null);
  const [alertsOff, setAlertsOff] = useState<string | null>(null);
  const [alertsError, setAlertsError] = useState('');
  const [silenceFor, setSilenceFor] = useState<string | null>(null);
  const [silencesKey, setSilencesKey] = useState(0);
  const [silences, setSilences] = useState<Silence[] | null>(null);
  // alertSeq counts the alert lists received: a GET answered after a
  // newer `alert` event must not overwrite it.
  const alertSeq = useRef(0);
  // The project's instances now, from the `metrics` events (every 5 s
  // while the editor is open; null: none yet or stale).
  const [metricsSnap, setMetricsSnap] = useState<MetricsSnapshot | null>(null);
  // The project's recent builds, kept up by the `build` events (a build
  // that runs lights its element violet); null: not read yet.
  const [buildList, setBuildList] = useState<Build[] | null>(null);
  const clipboard = useRef<Clipboard | null>(null);
  const pasteCount = useRef(0);
  const dragKey = useRef('move');

  // ---- load ----
  const loadSchema = useCallback(
    async (mode: 'init' | 'reload') => {
      const doc = await api.getSchema(slug);
      const s = normalizeSchema(doc.schema, slug);
      setHist((h) => (mode === 'init' || !h ? initHistory(s) : push(h, s)));
      setEtag(doc.etag);
      setRevision(doc.revision);
      setSavedJson(JSON.stringify(s));
      setProblems(doc.problems ?? []);
      setRemote(null);
      return s;
    },
    [slug],
  );

  useEffect(() => {
    let alive = true;
    api
      .kinds()
      .then((k) => alive && setKinds(k))
      .catch((e) => alive && setKindsError(errorMessage(e)));
    api
      .project(slug)
      .then((p) => alive && setProject(p))
      .catch(() => {});
    loadSchema('init').catch((e) => alive && setLoadError(errorMessage(e)));
    return () => {
      alive = false;
    };
  }, [slug, loadSchema]);

  // ---- editing ----
  const edit = useCallback((fn: (s: Schema) => Schema, key?: string) => {
    if (readOnlyRef.current) return; // a viewer changes nothing
    setHist((h) => (h ? push(h, fn(h.present), { key }) : h));
  }, []);

  const dirty = useMemo(() => !!schema && JSON.stringify(schema) !== savedJson, [schema, savedJson]);

  // ---- validation (debounced) ----
  useEffect(() => {
    if (!schema) return;
    const ctl = new AbortController();
    const t = setTimeout(() => {
      setValidating(true);
      api
        .validate(slug, schema, ctl.signal)
        .then((r) => {
          setProblems(r.problems ?? []);
          setWarnings(r.warnings ?? []);
          setValidateError('');
        })
        .catch((e) => {
          if (!ctl.signal.aborted) setValidateError(errorMessage(e));
        })
        .finally(() => {
          if (!ctl.signal.aborted) setValidating(false);
        });
    }, 300);
    return () => {
      clearTimeout(t);
      ctl.abort();
    };
  }, [schema, slug]);

  // ---- live status and revisions ----
  useEffect(() => {
    let alive = true;
    api
      .status(slug)
      .then((list) => {
        if (!alive) return;
        const m: Record<string, Status> = {};
        for (const s of list) m[`${s.element}|${s.region}`] = s;
        setStatuses((cur) => ({ ...m, ...cur }));
      })
      .catch((e) => {
        if (e instanceof ApiError && e.code === 'no_cluster') setNoCluster(true);
      });
    api
      .deployments(slug)
      .then((list) => {
        if (alive) setDeploys((cur) => list.reduce<Deployment[]>((l, d) => upsertDeployment(l, d), cur ?? []));
      })
      .catch(() => {
        // No commit lines; the History tab shows the error.
      });
    const readCommits = () =>
      api
        .commits(slug)
        .then((list) => {
          if (alive) setStored(list);
        })
        .catch(() => {
          // The deployments still give the commit lines.
        });
    void readCommits();
    buildsApi
      .list(slug, undefined, 50)
      .then((r) => {
        if (alive) setBuildList((cur) => mergeBuilds(cur, r.builds));
      })
      .catch(() => {
        // No building lights until the events bring a build.
      });
    if (typeof EventSource === 'undefined') return;
    const es = new EventSource(api.eventsUrl(slug));
    const parse = (ev: Event) => {
      try {
        return JSON.parse((ev as MessageEvent).data as string) as unknown;
      } catch {
        return undefined;
      }
    };
    es.addEventListener('status', (ev) => {
      const s = parse(ev) as Status | undefined;
      if (s?.element) setStatuses((m) => ({ ...m, [`${s.element}|${s.region}`]: s }));
    });
    es.addEventListener('revision', (ev) => {
      const r = parse(ev) as { revision: number; etag?: string; author?: string } | undefined;
      if (r && typeof r.revision === 'number') setRemote((cur) => (cur && cur.revision >= r.revision ? cur : r));
    });
    es.addEventListener('deployment', (ev) => {
      const d = parse(ev) as Deployment | undefined;
      if (d) {
        setDeployment(d);
        setDeploys((l) => upsertDeployment(l, d));
        if (d.status !== 'running') void readCommits();
      }
    });
    // A build started (status "building") or ended.
    es.addEventListener('build', (ev) => {
      const b = parse(ev);
      if (isBuild(b)) setBuildList((l) => upsertBuild(l, b));
    });
    // The full list of the project's alerts, each time it changes (and on
    // connecting, when alerting is on).
    // Every instance's CPU, memory and restarts now, every few seconds.
    let stale: ReturnType<typeof setTimeout> | undefined;
    es.addEventListener('metrics', (ev) => {
      const m = parse(ev) as MetricsSnapshot | undefined;
      if (!m || typeof m !== 'object') return;
      setMetricsSnap({ ...m, instances: Array.isArray(m.instances) ? m.instances : [] });
      clearTimeout(stale);
      stale = setTimeout(() => setMetricsSnap(null), METRICS_STALE_MS);
    });
    es.addEventListener('alert', (ev) => {
      const a = parse(ev) as { alerts?: Alert[] | null } | undefined;
      if (!a || typeof a !== 'object') return;
      alertSeq.current++;
      setAlertList(Array.isArray(a.alerts) ? a.alerts : []);
      setAlertsOff(null);
      setAlertsError('');
    });
    return () => {
      alive = false;
      clearTimeout(stale);
      es.close();
    };
  }, [slug]);

  // ---- alerts ----
  // loadAlerts reads the alerts once (on opening, and after a silence is
  // made or expired here); the `alert` events keep them current. Without
  // Alertmanager (503 no_alertmanager) it is not asked again.
  const loadAlerts = useCallback(() => {
    const seq = alertSeq.current;
    alertsApi
      .list(slug)
      .then((list) => {
        if (alertSeq.current !== seq) return; // an event was newer
        alertSeq.current++;
        setAlertList(list);
        setAlertsError('');
      })
      .catch((e) => {
        if (isNoAlertmanager(e)) setAlertsOff(errorMessage(e) || NO_ALERTMANAGER);
        else if (!(e instanceof ApiError && e.status === 403)) setAlertsError(errorMessage(e));
      });
  }, [slug]);
  useEffect(loadAlerts, [loadAlerts]);
  const onAlertsOff = useCallback((m: string) => setAlertsOff(m || NO_ALERTMANAGER), []);
  const badges = useMemo(() => (alertsOff ? {} : alertBadges(alertList)), [alertList, alertsOff]);
  const firingCount = alertsOff ? 0 : countFiring(alertList);
  const openAlerts = useCallback((id?: string) => {
    if (id) setSelection({ nodes: [id], edges: [] });
    setTab('alerts');
  }, []);

  const figures = useMemo(() => nodeFigures(metricsSnap), [metricsSnap]);
  const onNoCluster = useCallback(() => setNoCluster(true), []);

  const clusterMissing = isClusterMissing(health, noCluster);
  const savedIds = useMemo(() => savedElementIds(savedJson), [savedJson]);

  // ---- save ----
  const save = useCallback(
    async (overwrite = false): Promise<boolean> => {
      const s0 = schemaRef.current;
      if (!s0 || readOnlyRef.current) return false;
      // Pin auto-placed elements: the server sorts elements on save.
      const s = fillLayout(s0);
      if (s !== s0) setHist((h) => (h && h.present === s0 ? replace(h, s) : h));
      setSaving(true);
      try {
        const doc = await api.putSchema(slug, s, overwrite ? '*' : etag || '*', message);
        setEtag(doc.etag);
        setRevision(doc.revision);
        if (doc.problems) setProblems(doc.problems);
        const saved = doc.schema ? normalizeSchema(doc.schema, slug) : s;
        if (schemaRef.current === s || schemaRef.current === s0) {
          setHist((h) => (h ? replace(h, saved) : h));
          setSavedJson(JSON.stringify(saved));
        } else {
          setSavedJson(JSON.stringify(s));
        }
        setMessage('');
        setConflict(null);
        setRemote(null);
        toast(`Saved revision ${doc.revision}`, 'success');
        setProject((p) => (p ? { ...p, head: doc.revision } : p));
        return true;
      } catch (e) {
        if (e instanceof ApiError && e.status === 409) {
          const head = (e.body as { head?: Head } | undefined)?.head;
          setConflict(head ?? { revision: 0, etag: '' });
        } else if (e instanceof ApiError && problemsOf(e).length) {
          setProblems(problemsOf(e));
          toast(`Not saved: ${e.message}`, 'error');
        } else if (!(e instanceof ApiError && e.status === 403)) {
          // (a 403 is shown by the app, with the server's message)
          toast(`Save failed: ${errorMessage(e)}`, 'error');
        }
        return false;
      } finally {
        setSaving(false);
      }
    },
    [slug, etag, message, toast],
  );

  const reload = useCallback(async () => {
    try {
      await loadSchema('reload');
      setConflict(null);
      setSelection(EMPTY_SEL);
      toast('Loaded the latest revision', 'info');
    } catch (e) {
      toast(`Reload failed: ${errorMessage(e)}`, 'error');
    }
  }, [loadSchema, toast]);

  // ---- canvas model ----
  const selNodes = useMemo(() => new Set(selection.nodes), [selection.nodes]);
  const selEdges = useMemo(() => new Set(selection.edges), [selection.edges]);

  const problemMap = useMemo(() => {
    const byEl: Record<string, string[]> = {};
    const byConn: Record<number, string[]> = {};
    if (!schema) return { byEl, byConn };
    for (const p of problems) {
      const t = problemTarget(p, schema);
      if (t.scope === 'element' && t.element) (byEl[t.element] ??= []).push(`${t.field ? `${t.field}: ` : ''}${p.message}`);
      if (t.scope === 'connection' && t.connection !== undefined) (byConn[t.connection] ??= []).push(p.message);
    }
    return { byEl, byConn };
  }, [problems, schema]);

  const commits = useMemo(() => mergeCommits(commitsByElement(deploys), stored), [deploys, stored]);
  const building = useMemo(() => buildingElements(buildList), [buildList]);

  const graph = useMemo(() => (schema ? schemaToGraph(schema) : { nodes: [], edges: [] }), [schema]);

  const nodes: ViewNode[] = useMemo(() => {
    if (!schema) return [];
    return graph.nodes.map((n) => {
      const el = n.data.element;
      const regions = elementRegions(schema, el).map((r) => {
        const st = statuses[`${el.id}|${r}`];
        return { name: r, light: stateLight(st?.state), status: st };
      });
      return {
        ...n,
        selected: selNodes.has(n.id),
        measured: measured[n.id],
        data: {
          ...n.data,
          kind: kinds_[el.kind],
          light: nodeLight(combineLights(regions.map((r) => r.light)), building.has(el.id)),
          build: building.has(el.id) ? buildList?.find((b) => b.element === el.id && b.status === 'building') : undefined,
          regions,
          problems: problemMap.byEl[el.id] ?? [],
          alerts: badges[el.id],
          onAlerts: openAlerts,
          metrics: figures[el.id],
          commit: el.source ? commits[el.id] : undefined,
        },
      };
    });
  }, [graph, schema, statuses, selNodes, measured, kinds_, problemMap, badges, openAlerts, figures, commits, building, buildList]);

  const edges: ConnectionEdge[] = useMemo(
    () =>
      graph.edges.map((e) => ({
        ...e,
        selected: selEdges.has(e.id),
        className: problemMap.byConn[e.data!.index] ? 'edge-problem' : undefined,
        data: e.data,
      })),
    [graph, selEdges, problemMap],
  );

  const onNodesChange = useCallback(
    (changes: NodeChange<ViewNode>[]) => {
      const positions: Record<string, Position> = {};
      let sel: Record<string, boolean> | null = null;
      let dims: Record<string, { width: number; height: number }> | null = null;
      for (const c of changes) {
        if (c.type === 'position' && c.position) positions[c.id] = c.position;
        else if (c.type === 'select') (sel ??= {})[c.id] = c.selected;
        else if (c.type === 'dimensions' && c.dimensions) (dims ??= {})[c.id] = c.dimensions;
      }
      if (Object.keys(positions).length) edit((s) => setPositions(s, positions), dragKey.current);
      if (sel) {
        const s = sel;
        setSelection((cur) => {
          const set = new Set(cur.nodes);
          for (const [id, on] of Object.entries(s)) on ? set.add(id) : set.delete(id);
          return { ...cur, nodes: [...set] };
        });
      }
      if (dims) {
        const d = dims;
        setMeasured((m) => {
          let changed = false;
          for (const [id, v] of Object.entries(d)) if (m[id]?.width !== v.width || m[id]?.height !== v.height) changed = true;
          return changed ? { ...m, ...d } : m;
        });
      }
    },
    [edit],
  );

  const onEdgesChange = useCallback((changes: EdgeChange<ConnectionEdge>[]) => {
    const sel: Record<string, boolean> = {};
    let any = false;
    for (const c of changes) {
      if (c.type === 'select') {
        sel[c.id] = c.selected;
        any = true;
      }
    }
    if (any)
      setSelection((cur) => {
        const set = new Set(cur.edges);
        for (const [id, on] of Object.entries(sel)) on ? set.add(id) : set.delete(id);
        return { ...cur, edges: [...set] };
      });
  }, []);

  const onConnect = useCallback(
    (c: RFConnection) => {
      const s = schemaRef.current;
      if (!s || !c.source || !c.target) return;
      const check = canConnect(s, kinds_, c.source, c.target);
      if (!check.ok) {
        toast(`Cannot connect: ${check.reason}`, 'error');
        return;
      }
      edit((cur) => {
        const r = addConnection(cur, kinds_, c.source, c.target);
        return r.ok ? r.schema : cur;
      });
      setSelection({ nodes: [], edges: [`${c.source}->${c.target}`] });
      setTab('inspector');
    },
    [kinds_, edit, toast],
  );

  const addKind = useCallback(
    (kind: string, pos?: Position) => {
      const s = schemaRef.current;
      if (!s) return;
      let at = pos;
      if (!at) {
        const el = document.querySelector('[data-testid="canvas"]')?.getBoundingClientRect();
        const center = el ? rf.screenToFlowPosition({ x: el.left + el.width / 2, y: el.top + el.height / 2 }) : { x: 100, y: 100 };
        const n = s.elements.length % 5;
        at = { x: center.x - 100 + n * 24, y: center.y - 38 + n * 24 };
      }
      const r = addElement(s, kind, at);
      edit(() => r.schema);
      setSelection({ nodes: [r.id], edges: [] });
      setTab('inspector');
      if (view !== 'canvas') toast(`Added ${r.id}`, 'info');
    },
    [edit, rf, view, toast],
  );

  const removeSelection = useCallback(() => {
    const s = schemaRef.current;
    if (!s) return;
    if (!selection.nodes.length && !selection.edges.length) return;
    const ids = edgeIds(s.connections ?? []);
    const idx = selection.edges.map((e) => ids.indexOf(e)).filter((i) => i >= 0);
    edit((cur) => removeItems(cur, selection.nodes, idx));
    setSelection(EMPTY_SEL);
  }, [selection, edit]);

  const copy = useCallback(() => {
    const s = schemaRef.current;
    if (!s || !selection.nodes.length) return;
    clipboard.current = copyItems(s, selection.nodes);
    pasteCount.current = 0;
    toast(`Copied ${selection.nodes.length} element${selection.nodes.length > 1 ? 's' : ''}`, 'info');
  }, [selection, toast]);

  const paste = useCallback(() => {
    const s = schemaRef.current;
    const clip = clipboard.current;
    if (!s || !clip || !clip.elements.length) return;
    pasteCount.current++;
    const off = 40 * pasteCount.current;
    const r = pasteItems(s, clip, { x: off, y: off });
    edit(() => r.schema);
    setSelection({ nodes: r.ids, edges: [] });
  }, [edit]);

  const doUndo = useCallback(() => setHist((h) => (h ? undo(h) : h)), []);
  const doRedo = useCallback(() => setHist((h) => (h ? redo(h) : h)), []);

  const fit = useCallback(() => {
    void rf.fitView({ padding: 0.2, maxZoom: 1.2, duration: 250 });
  }, [rf]);

  const layout = useCallback(async () => {
    const s = schemaRef.current;
    if (!s || !s.elements.length) return;
    try {
      const { autoLayout } = await import('../model/layout');
      const pos = await autoLayout(s, measured);
      edit((cur) => setPositions(cur, pos), `layout-${Date.now()}`);
      setTimeout(fit, 60);
    } catch (e) {
      toast(`Auto-layout failed: ${errorMessage(e)}`, 'error');
    }
  }, [edit, measured, fit, toast]);

  // ---- keyboard ----
  const keyHandler = useRef<(e: KeyboardEvent) => void>(() => {});
  keyHandler.current = (e: KeyboardEvent) => {
    const t = e.target as HTMLElement | null;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)) return;
    if (planOpen || conflict || op || silenceFor) return;
    const mod = e.ctrlKey || e.metaKey;
    const k = e.key.toLowerCase();
    // Keys in the Logs tab are the logs' (Delete on a focused line's label
    // must not remove the element, Ctrl+A selects text); Ctrl+S still saves.
    if (t?.closest?.('.logs') && !(mod && k === 's')) return;
    if (readOnly) {
      // Reading only: select, copy (nothing to paste into), Escape.
      if (view !== 'canvas') return;
      if (mod && k === 'a') {
        e.preventDefault();
        const s = schemaRef.current;
        if (s) setSelection({ nodes: s.elements.map((x) => x.id), edges: edgeIds(s.connections ?? []) });
      } else if (mod && k === 's') {
        e.preventDefault();
      } else if (e.key === 'Escape') {
        setSelection(EMPTY_SEL);
      }
      return;
    }
    if (mod && k === 'z' && !e.shiftKey) {
      e.preventDefault();
      doUndo();
      return;
    }
    if (mod && ((k === 'z' && e.shiftKey) || k === 'y')) {
      e.preventDefault();
      doRedo();
      return;
    }
    if (mod && k === 's') {
      e.preventDefault();
      void save();
      return;
    }
    if (view !== 'canvas') return;
    if (mod && k === 'c') {
      copy();
    } else if (mod && k === 'v') {
      e.preventDefault();
      paste();
    } else if (mod && k === 'a') {
      e.preventDefault();
      const s = schemaRef.current;
      if (s) setSelection({ nodes: s.elements.map((x) => x.id), edges: edgeIds(s.connections ?? []) });
    } else if (e.key === 'Delete' || e.key === 'Backspace') {
      e.preventDefault();
      removeSelection();
    } else if (e.key === 'Escape') {
      setSelection(EMPTY_SEL);
    }
  };
  useEffect(() => {
    const h = (e: KeyboardEvent) => keyHandler.current(e);
    window.addEventListener('keydown', h);
    return () => window.removeEventListener('keydown', h);
  }, []);

  // ---- problems → selection and focus ----
  const gotoProblem = useCallback(
    (p: Problem) => {
      const s = schemaRef.current;
      if (!s) return;
      const t = problemTarget(p, s);
      if (t.scope === 'element' && t.element) {
        const el = s.elements.find((e) => e.id === t.element);
        if (!el) return;
        setSelection({ nodes: [el.id], edges: [] });
        setTab('inspector');
        setFocus({ testid: fieldTestId(t.field, el) ?? 'field-id', n: Date.now() });
        if (view === 'canvas') {
          const n = rf.getNode(el.id);
          if (n) void rf.setCenter(n.position.x + 100, n.position.y + 40, { zoom: rf.getZoom(), duration: 250 });
        }
      } else if (t.scope === 'connection' && t.connection !== undefined) {
        const id = edgeIds(s.connections ?? [])[t.connection];
        if (!id) return;
        setSelection({ nodes: [], edges: [id] });
        setTab('inspector');
        setFocus({ testid: connectionFieldTestId(t.field) ?? 'field-env', n: Date.now() });
      } else {
        setTab('settings');
      }
    },
    [rf, view],
  );

  useEffect(() => {
    if (!focus) return;
    const id = requestAnimationFrame(() => {
      const el = document.querySelector<HTMLElement>(`.inspector [data-testid="${CSS.escape(focus.testid)}"]`);
      if (!el) return;
      el.scrollIntoView({ block: 'center' });
      const target = el.matches('input, textarea, select, button') ? el : el.querySelector<HTMLElement>('input, textarea, select');
      target?.focus();
    });
    return () => cancelAnimationFrame(id);
  }, [focus]);

  // ---- /p/<slug>?element=<id> (where alerts link to) ----
  // Once the schema is in: select the element, show its inspector and
  // bring it into view; then drop the parameter from the address.
  const linked = useRef(false);
  const hasSchema = !!schema;
  useEffect(() => {
    if (!linkedElement || linked.current || !hasSchema) return;
    linked.current = true;
    const s = schemaRef.current;
    navigate(`/p/${encodeURIComponent(slug)}`, { replace: true });
    if (!s?.elements.some((e) => e.id === linkedElement)) {
      toast(`${linkedElement} is not an element of ${slug} (any more)`, 'info');
      return;
    }
    setSelection({ nodes: [linkedElement], edges: [] });
    setTab('inspector');
    // After the canvas fitted its view to every element. (Not cancelled
    // on cleanup: this runs once, and StrictMode's second run returns
    // early.)
    setTimeout(() => {
      const n = rf.getNode(linkedElement);
      if (n) void rf.setCenter(n.position.x + 100, n.position.y + 40, { zoom: Math.max(rf.getZoom(), 0.8), duration: 250 });
    }, 350);
  }, [linkedElement, hasSchema, slug, rf, toast]);

  // ---- views ----
  const setViewMode = (v: 'canvas' | 'yaml') => {
    setYamlError(null);
    setView(v);
  };

  const onDragStart = useCallback(() => {
    dragKey.current = `drag-${Date.now()}`;
  }, []);
  const onDragStop = useCallback(() => {
    dragKey.current = 'move';
  }, []);

  if (loadError) {
    return (
      <div className="page">
        <header className="topbar">
          <button className="icon-btn" onClick={() => navigate('/')} aria-label="All projects">
            <Icon name="back" />
          </button>
          <div className="brand">Backplane</div>
          <div className="spacer" />
          <UserMenu />
          <ThemeToggle theme={theme} toggle={toggleTheme} />
        </header>
        <div className="center-msg">
          <div className="banner banner-error" role="alert">
            Cannot open project <b>{slug}</b>: {loadError}
          </div>
          <button className="btn" onClick={() => navigate('/')}>
            Back to projects
          </button>
        </div>
      </div>
    );
  }
  if (!schema || !hist) return <div className="center-msg muted">Loading {slug}…</div>;

  const selectedEl = selection.nodes.length === 1 && selection.edges.length === 0 ? schema.elements.find((e) => e.id === selection.nodes[0]) : undefined;
  const edgeIdList = edgeIds(schema.connections ?? []);
  const selectedEdgeIndex = selection.edges.length === 1 && selection.nodes.length === 0 ? edgeIdList.indexOf(selection.edges[0]) : -1;
  const selectedEdge = selectedEdgeIndex >= 0 ? schema.connections?.[selectedEdgeIndex] : undefined;
  const showRemote = remote && remote.revision > revision && remote.etag !== etag && !saving;

  return (
    <div className="editor">
      <header className="topbar">
        <button className="icon-btn" onClick={() => navigate('/')} aria-label="All projects" title="All projects" data-testid="back">
          <Icon name="back" />
        </button>
        <div className="title-block">
          <span className="project-title" data-testid="project-name">
            {project?.name || slug}
          </span>
          <span className="muted small mono">{slug}</span>
        </div>
        <span className="badge badge-grey" data-testid="revision" title="Head revision">
          rev {revision}
        </span>
        {dirty && (
          <span className="unsaved" data-testid="unsaved" title="Unsaved changes">
            unsaved
          </span>
        )}
        {readOnly && (
          <span className="badge badge-amber read-only" data-testid="read-only" title={readOnlyReason(role, slug)}>
            read-only · {role ?? 'no role'}
          </span>
        )}
        <div className="toolbar-group">
          {!readOnly && (
            <>
              <button className="icon-btn" data-testid="undo" onClick={doUndo} disabled={!canUndo(hist)} title="Undo (Ctrl/Cmd+Z)" aria-label="Undo">
                <Icon name="undo" />
              </button>
              <button className="icon-btn" data-testid="redo" onClick={doRedo} disabled={!canRedo(hist)} title="Redo (Shift+Ctrl/Cmd+Z)" aria-label="Redo">
                <Icon name="redo" />
              </button>
              <button className="icon-btn" data-testid="auto-layout" onClick={() => void layout()} disabled={view !== 'canvas'} title="Auto-layout" aria-label="Auto-layout">
                <Icon name="layout" />
              </button>
            </>
          )}
          <button className="icon-btn" data-testid="fit-view" onClick={fit} disabled={view !== 'canvas'} title="Fit to view" aria-label="Fit to view">
            <Icon name="fit" />
          </button>
        </div>
        <div className="segmented" role="group" aria-label="View">
          <button
            data-testid="yaml-toggle"
            className="seg-btn"
            aria-pressed={view === 'yaml'}
            onClick={() => setViewMode(view === 'canvas' ? 'yaml' : 'canvas')}
            title={view === 'canvas' ? 'Show the schema as YAML' : 'Show the canvas'}
          >
            <Icon name={view === 'canvas' ? 'code' : 'graph'} size={15} /> {view === 'canvas' ? 'YAML' : 'Canvas'}
          </button>
        </div>
        <div className="spacer" />
        {firingCount > 0 && (
          <button
            className="alerts-indicator"
            data-testid="alerts-indicator"
            title={`${firingCount} firing alert${firingCount === 1 ? '' : 's'} in ${slug}: show them`}
            onClick={() => setTab('alerts')}
          >
            <Icon name="bell" size={14} />
            <span data-testid="alerts-count">{firingCount}</span> firing
          </button>
        )}
        <ClusterBadge health={noCluster && health?.cluster === 'connected' ? { ...health, cluster: 'not configured' } : health} />
        {can.edit && (
          <>
            <input
              className="save-message"
              data-testid="save-message"
              placeholder="Message (optional)"
              value={message}
              onChange={(e) => setMessage(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter') void save();
              }}
              aria-label="Revision message"
            />
            <button className="btn btn-primary" data-testid="save" onClick={() => void save()} disabled={saving} title="Save (Ctrl/Cmd+S)">
              {saving ? 'Saving…' : 'Save'}
            </button>
          </>
        )}
        {can.deploy && (
          <>
            <button className="btn" data-testid="plan" onClick={() => setPlanOpen(true)}>
              Plan
            </button>
            <button className="btn" data-testid={planOpen ? 'topbar-deploy' : 'deploy'} onClick={() => setPlanOpen(true)} title={clusterMissing ? 'No cluster connected' : 'Plan, then deploy'}>
              Deploy
            </button>
          </>
        )}
        <OverflowMenu
          items={[
            {
              label: 'Deploy history',
              testid: 'open-deploys',
              title: 'Show the deployments in the History tab',
              onSelect: () => {
                setTab('history');
                setHistoryView('deploys');
              },
            },
            {
              label: firingCount ? `Alerts (${firingCount} firing)` : 'Alerts',
              testid: 'open-alerts',
              title: `Firing alerts and silences of ${slug}`,
              onSelect: () => setTab('alerts'),
            },
            {
              label: 'Logs',
              testid: 'open-logs',
              title: `Search and live-tail the logs of every element of ${slug}`,
              onSelect: () => navigate(`/p/${slug}/logs`),
            },
            {
              label: 'Members',
              testid: 'open-members',
              title: `Who has which role in ${slug}`,
              onSelect: () => setTab('members'),
            },
            ...(can.audit
              ? [
                  {
                    label: 'Audit log',
                    testid: 'open-audit',
                    title: `Every change to ${slug}, who made it and from where`,
                    onSelect: () => navigate(`/p/${slug}/audit`),
                  },
                ]
              : []),
            ...(can.destroy
              ? [
                  {
                    label: 'Destroy…',
                    testid: 'destroy',
                    danger: true,
                    disabled: clusterMissing ? NO_CLUSTER : undefined,
                    title: `Stop every job of ${slug}`,
                    onSelect: () => setOp({ action: 'destroy' }),
                  },
                ]
              : []),
          ]}
        />
        <UserMenu />
        <ThemeToggle theme={theme} toggle={toggleTheme} />
      </header>
      {showRemote && (
        <div className="banner banner-info notice" data-testid="revision-notice" role="status">
          A newer revision {remote.revision} by {remote.author || 'someone'} exists.
          <button className="btn btn-small" data-testid="revision-reload" onClick={() => void reload()}>
            Reload
          </button>
          <button className="btn btn-small" onClick={() => setRemote(null)}>
            Dismiss
          </button>
        </div>
      )}
      <div className={`workspace${tab === 'logs' || tab === 'metrics' ? ' wide-panel' : ''}`}>
        <Palette kinds={kinds} error={kindsError} onAdd={(k) => addKind(k)} disabled={readOnly ? readOnlyReason(role, slug) : undefined} />
        <div className="center">
          <div className="center-main">
            {view === 'canvas' ? (
              <CanvasView
                nodes={nodes}
                edges={edges}
                theme={theme}
                readOnly={readOnly}
                onNodesChange={onNodesChange}
                onEdgesChange={onEdgesChange}
                onConnect={onConnect}
                onDropKind={(k, p) => addKind(k, p)}
                onNodeDragStart={onDragStart}
                onNodeDragStop={onDragStop}
                onInit={() => {}}
              />
            ) : (
              <YamlView
                schema={schema}
                readOnly={readOnly}
                error={yamlError}
                onError={setYamlError}
                onChange={(s) => edit(() => s, 'yaml')}
                onUpload={(s, name) => {
                  edit(() => normalizeSchema(s, slug));
                  setSelection(EMPTY_SEL);
                  toast(`Loaded ${name}`, 'info');
                }}
              />
            )}
            {view === 'canvas' && schema.elements.length === 0 && (
              <div className="canvas-hint">
                {readOnly ? 'This project has no elements yet.' : 'Drag a kind from the palette onto the canvas (or click it) to add an element.'}
              </div>
            )}
          </div>
          <ProblemsPanel schema={schema} problems={problems} warnings={warnings} validating={validating} error={validateError} onSelect={gotoProblem} />
        </div>
        <aside className="inspector" aria-label="Inspector">
          <div className="tabs" role="tablist">
            {(
              [
                ['inspector', 'Inspector'],
                ['preview', 'Preview'],
                ['settings', 'Project'],
                ['history', 'History'],
                ['members', 'Members'],
                ['logs', 'Logs'],
                ['metrics', 'Metrics'],
                ['alerts', 'Alerts'],
                ['build', 'Build'],
              ] as [Tab, string][]
            ).map(([t, label]) => (
              <button key={t} role="tab" aria-selected={tab === t} className={tab === t ? 'active' : ''} data-testid={`tab-${t}`} onClick={() => setTab(t)}>
                {label}
              </button>
            ))}
          </div>
          {tab === 'logs' &&
            (selectedEl ? (
              <LogsView
                slug={slug}
                element={selectedEl.id}
                regions={elementRegions(schema, selectedEl)}
                compact
                onOpenPage={(f) => navigate(`/p/${slug}/logs${filtersToSearch(f)}`)}
              />
            ) : (
              <div className="inspector-body muted" data-testid="logs-select-element">
                <p>Select an element on the canvas to search and live-tail its logs here.</p>
                <p>
                  <button className="btn btn-small" data-testid="logs-open-project" onClick={() => navigate(`/p/${slug}/logs`)}>
                    <Icon name="logs" size={14} /> All of {slug}'s logs
                  </button>
                </p>
              </div>
            ))}
          <div className="inspector-scroll" hidden={tab === 'logs'}>
            {tab === 'inspector' &&
              (selectedEl ? (
                <ElementInspector
                  schema={schema}
                  element={selectedEl}
                  kinds={kinds_}
                  problems={problems}
                  readOnly={readOnly}
                  onChange={(fn, key) => edit((s) => updateElement(s, selectedEl.id, fn), key)}
                  onRename={(to) => {
                    const from = selectedEl.id;
                    const r = renameElement(schemaRef.current!, from, to);
                    if (!r.ok) return r.reason;
                    edit(() => r.schema, `rename:${from}`);
                    setSelection({ nodes: [to], edges: [] });
                    setMeasured((m) => (m[from] ? { ...m, [to]: m[from] } : m));
                    return undefined;
                  }}
                  onDelete={removeSelection}
                  alerting={
                    alertsOff || alertList === null
                      ? undefined
                      : {
                          firing: badges[selectedEl.id]?.count ?? 0,
                          title: badges[selectedEl.id]?.title,
                          onShow: () => setTab('alerts'),
                          onSilence: can.deploy ? () => setSilenceFor(selectedEl.id) : undefined,
                        }
                  }
                  cluster={
                    can.deploy
                      ? {
                          blocked: actionBlocked({ clusterMissing, element: selectedEl.id, savedIds }),
                          onRollback: () => setOp({ action: 'rollback', element: selectedEl.id, regions: elementRegions(schema, selectedEl) }),
                          onDestroy: can.destroy ? () => setOp({ action: 'destroy', element: selectedEl.id, regions: elementRegions(schema, selectedEl) }) : undefined,
                        }
                      : undefined
                  }
                />
              ) : selectedEdge ? (
                <EdgeInspector
                  schema={schema}
                  index={selectedEdgeIndex}
                  connection={selectedEdge}
                  kinds={kinds_}
                  problems={problems}
                  readOnly={readOnly}
                  onChange={(fn, key) => edit((s) => updateConnection(s, selectedEdgeIndex, fn), key)}
                  onDelete={removeSelection}
                />
              ) : selection.nodes.length + selection.edges.length > 1 ? (
                <div className="inspector-body">
                  <div className="insp-title">
                    {selection.nodes.length} element{selection.nodes.length === 1 ? '' : 's'}, {selection.edges.length} connection{selection.edges.length === 1 ? '' : 's'} selected
                  </div>
                  {!readOnly && (
                    <>
                      <p className="muted small">Ctrl/Cmd+C copies the elements and the connections between them; Delete removes the selection.</p>
                      <button className="btn btn-small btn-danger" data-testid="delete-selection" onClick={removeSelection}>
                        Remove selection
                      </button>
                    </>
                  )}
                </div>
              ) : (
                <div className="inspector-body muted" data-testid="inspector-empty">
                  <p>{readOnly ? 'Select an element or a connection to see its settings.' : 'Select an element or a connection to edit it.'}</p>
                  <p className="small">
                    {schema.elements.length} element{schema.elements.length === 1 ? '' : 's'}, {(schema.connections ?? []).length} connection
                    {(schema.connections ?? []).length === 1 ? '' : 's'}.{readOnly ? '' : ' Shift-drag to select several; Ctrl/Cmd+Z to undo.'}
                  </p>
                </div>
              ))}
            {tab === 'metrics' &&
              (selectedEl ? (
                <Suspense fallback={<div className="inspector-body muted small">Loading the charts…</div>}>
                  <MetricsPanel
                    key={selectedEl.id}
                    slug={slug}
                    element={selectedEl.id}
                    theme={theme}
                    live={elementInstances(metricsSnap, selectedEl.id)}
                    onNoCluster={onNoCluster}
                  />
                </Suspense>
              ) : (
                <div className="inspector-body muted" data-testid="metrics-select-element">
                  <p>Select an element on the canvas to see its CPU, memory and restarts over time here.</p>
                  <p className="small">Each deployed element&apos;s node shows its CPU and memory now, the highest of its instances.</p>
                </div>
              ))}
            {tab === 'preview' && <PreviewPanel slug={slug} schema={schema} element={selectedEl?.id} />}
            {tab === 'settings' && <SettingsPanel schema={schema} problems={problems} readOnly={readOnly} onChange={(fn, key) => edit(fn, key)} hooksSlug={can.manageProject ? slug : undefined} />}
            {tab === 'history' && (
              <HistoryPanel
                slug={slug}
                revision={revision}
                deployment={deployment}
                canRedeploy={can.deploy && !noCluster}
                view={historyView}
                onView={setHistoryView}
                onRestore={
                  readOnly
                    ? undefined
                    : (text, n) => {
                        const r = yamlToSchema(text);
                        if (!r.ok) {
                          toast(`Revision ${n} does not parse: ${r.error.message}`, 'error');
                          return;
                        }
                        edit(() => normalizeSchema(r.schema, slug));
                        setSelection(EMPTY_SEL);
                        toast(`Loaded revision ${n} into the editor; save to make it the head`, 'info');
                      }
                }
              />
            )}
            {tab === 'alerts' && (
              <AlertsPanel
                slug={slug}
                alerts={alertList}
                off={alertsOff}
                error={alertsError}
                elements={new Set(schema.elements.map((e) => e.id))}
                canSilence={can.deploy}
                silencesKey={silencesKey}
                silences={silences}
                onSilences={setSilences}
                onRefresh={loadAlerts}
                onOff={onAlertsOff}
                onSilence={setSilenceFor}
                onSelect={(id) => {
                  if (!schema.elements.some((e) => e.id === id)) return;
                  setSelection({ nodes: [id], edges: [] });
                  const n = rf.getNode(id);
                  if (n && view === 'canvas') void rf.setCenter(n.position.x + 100, n.position.y + 40, { zoom: rf.getZoom(), duration: 250 });
                }}
                onChanged={loadAlerts}
              />
            )}
            {tab === 'build' &&
              (selectedEl ? (
                <BuildPanel slug={slug} element={selectedEl.id} live={buildList} buildable={!!selectedEl.source?.build} />
              ) : (
                <div className="inspector-body muted" data-testid="build-select-element">
                  <p>Select an element built from source to see its builds and their logs here.</p>
                </div>
              ))}
            {tab === 'members' && <MembersPanel slug={slug} canManage={can.manageMembers} self={me.user.name} onChanged={() => void refreshMe()} />}
          </div>
        </aside>
      </div>
      {planOpen && can.deploy && (
        <PlanDialog
          slug={slug}
          revision={revision}
          dirty={dirty}
          statuses={statuses}
          deployment={deployment}
          builds={buildList}
          onShowBuild={(id) => {
            setSelection({ nodes: [id], edges: [] });
            setTab('build');
            setPlanOpen(false);
          }}
          onClose={() => setPlanOpen(false)}
          onSave={() => save()}
          onNoCluster={() => setNoCluster(true)}
        />
      )}
      {op && (
        <ClusterOpDialog
          slug={slug}
          op={op}
          revision={revision}
          dirty={dirty}
          clusterMissing={clusterMissing}
          onClose={() => setOp(null)}
          onNoCluster={() => setNoCluster(true)}
        />
      )}
      {silenceFor && can.deploy && (
        <SilenceDialog
          slug={slug}
          element={silenceFor}
          onClose={() => setSilenceFor(null)}
          onOff={onAlertsOff}
          onDone={(sil, duration) => {
            setSilenceFor(null);
            toast(`Silenced ${sil?.element ?? silenceFor} for ${duration}`, 'success');
            setSilencesKey((k) => k + 1);
            loadAlerts();
          }}
        />
      )}
      {conflict && (
        <ConflictDialog
          head={conflict}
          busy={saving}
          onCancel={() => setConflict(null)}
          onReload={() => void reload()}
          onOverwrite={() => void save(true)}
        />
      )}
    </div>
  );
}
