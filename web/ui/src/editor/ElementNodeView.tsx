import { Handle, Position, type Node, type NodeProps } from '@xyflow/react';
import { memo, useEffect, useState } from 'react';
import type { AlertBadge } from '../model/alerts';
import type { ElementCommit } from '../model/autodeploy';
import { LIGHT_LEGEND, shortSha, type Build, type NodeLight } from '../model/builds';
import { scaleSummary, scalingEventText } from '../model/cluster';
import type { ElementNodeData } from '../model/graph';
import type { NodeFigure } from '../model/metrics';
import type { KindInfo, Light, Status } from '../model/types';
import { Icon, KindIcon } from '../ui/icons';

export interface RegionLight {
  name: string;
  light: Light;
  status?: Status;
}

export interface NodeViewData extends ElementNodeData {
  kind?: KindInfo;
  // light: the element's jobs' light, or "building" while a build of it
  // runs (build: that build).
  light: NodeLight;
  build?: Build;
  regions: RegionLight[];
  problems: string[];
  // alerts: the element's firing alerts (none firing: undefined).
  alerts?: AlertBadge;
  // onAlerts opens the Alerts tab (the badge's click).
  onAlerts?: (id: string) => void;
  // metrics: the element's CPU and memory now, the highest of its
  // instances (none measured: undefined, nothing shows).
  metrics?: NodeFigure;
  // commit: the git commit the element runs (its newest succeeded git
  // deploy); shown only for elements built from source.
  commit?: ElementCommit;
}

export type ViewNode = Node<NodeViewData, 'element'>;

function stateText(s?: Status): string {
  if (!s) return 'not deployed';
  return s.state || 'unknown';
}

// useNow is the clock the status card's relative times ("2m ago") read:
// it ticks every 30 s while there is something to date (active), and
// catches up at once when that something changes (key: the newest event).
function useNow(active: boolean, key: string): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(t);
  }, [active, key]);
  return now;
}

function ElementNodeViewImpl({ id, data, selected }: NodeProps<ViewNode>) {
  const { kind, light, regions, problems, element, alerts, onAlerts, metrics, commit, build } = data;
  const label = kind?.label ?? element.kind;
  const known = !!kind;
  const top = regions.find((r) => r.status)?.status;
  const scale = scaleSummary(element, regions);
  const dated = regions.some((r) => r.status?.scaling?.events?.length);
  const now = useNow(dated, regions.map((r) => r.status?.scaling?.events?.[0]?.time ?? '').join('|'));
  return (
    <div
      className={`el-node${selected ? ' selected' : ''}${problems.length ? ' has-problems' : ''}${alerts?.count ? ' alerting' : ''}${known ? '' : ' unknown-kind'}`}
      data-testid={`node-${id}`}
      data-light={light}
    >
      <Handle
        type="target"
        position={Position.Left}
        className={`handle handle-target${kind && !kind.service ? ' handle-off' : ''}`}
        data-testid={`handle-target-${id}`}
        title={kind && !kind.service ? `${label} accepts no connections` : 'Connect to this element'}
      />
      <div className="el-head">
        <span className="el-icon">
          <KindIcon icon={kind?.icon} size={18} />
        </span>
        <span className="el-id" title={id}>
          {id}
        </span>
        {alerts && alerts.count > 0 && (
          <button
            type="button"
            className="el-alerts nodrag"
            data-testid={`alert-badge-${id}`}
            data-count={alerts.count}
            title={alerts.title}
            aria-label={alerts.title}
            onClick={(e) => {
              e.stopPropagation();
              onAlerts?.(id);
            }}
          >
            <Icon name="bell" size={11} />
            {alerts.count}
          </button>
        )}
        <span
          className={`lamp lamp-${light}`}
          data-testid={`light-${id}`}
          data-light={light}
          aria-label={`status ${light}`}
          title={light === 'building' ? `${LIGHT_LEGEND.building}${build ? ` ${shortSha(build.sha)}` : ''}` : top ? stateText(top) : 'not deployed'}
        />
      </div>
      <div className="el-meta">
        <span className="el-kind">{label}</span>
        {element.version ? <span className="el-version">{element.version}</span> : null}
        {scale && (
          <span className={`el-scale${scale.live ? ' live' : ''}`} data-testid={`node-scale-${id}`} data-live={scale.live} title={scale.title}>
            {scale.text}
          </span>
        )}
      </div>
      <div className="el-regions">
        {regions.map((r) => (
          <span key={r.name} className="region-badge" data-testid={`region-${id}-${r.name}`} title={`${r.name}: ${stateText(r.status)}`}>
            <span className={`dot lamp-${r.light}`} />
            {r.name}
          </span>
        ))}
      </div>
      {metrics && (
        <div
          className={`el-metrics level-${metrics.level}`}
          data-testid={`node-metrics-${id}`}
          data-cpu={metrics.cpu}
          data-memory={metrics.memory}
          data-level={metrics.level}
          aria-label={metrics.title}
        >
          {metrics.text}
        </div>
      )}
      {commit && element.source && (
        <div
          className="el-commit"
          data-testid={`node-commit-${id}`}
          data-sha={commit.sha}
          data-author={commit.by ?? ''}
          title={`${commit.sha}${commit.message ? `\n${commit.message}` : ''}${commit.by ? `\nby ${commit.by}` : ''}${commit.author ? `\ndeployed by ${commit.author}` : ''}`}
        >
          <span className="mono">{commit.short}</span>
          {commit.by && <span className="el-commit-by">{commit.by}</span>}
          {commit.message && <span className="el-commit-msg">{commit.message}</span>}
        </div>
      )}
      {problems.length > 0 && (
        <span className="el-problem" data-testid={`node-problem-${id}`} title={problems.join('\n')}>
          {problems.length}
        </span>
      )}
      <div className={`el-tooltip${dated || metrics ? ' wide' : ''}`} role="tooltip" data-testid={`node-tooltip-${id}`}>
        <div className="tt-title">
          {id} <span className="muted">· {label}</span>
        </div>
        {regions.map((r) => (
          <div key={r.name} className="tt-row">
            <span className={`dot lamp-${r.light}`} />
            <b>{r.name}</b>&nbsp;{stateText(r.status)}
            {r.status && (
              <>
                {' · '}
                {r.status.running ?? 0}/{r.status.desired ?? 0} running
                {r.status.version !== undefined && <> · v{r.status.version}</>}
                {r.status.last_event && <div className="tt-event">{r.status.last_event}</div>}
                {r.status.scaling && (
                  <div className="tt-scaling" data-testid={`node-scaling-${id}-${r.name}`}>
                    <div className="tt-scaling-head">
                      autoscaled {r.status.scaling.min}..{r.status.scaling.max} · now ×{r.status.desired ?? 0}
                    </div>
                    {r.status.scaling.events?.length ? (
                      <ul className="tt-scaling-events">
                        {r.status.scaling.events.map((e, i) => (
                          <li key={`${e.time}-${i}`} className={e.error ? 'error' : undefined} data-testid={`scaling-event-${id}-${r.name}-${i}`}>
                            {scalingEventText(e, now)}
                          </li>
                        ))}
                      </ul>
                    ) : (
                      <div className="tt-event">no scaling events yet</div>
                    )}
                  </div>
                )}
              </>
            )}
          </div>
        ))}
        {light === 'building' && (
          <div className="tt-row tt-building" data-testid={`node-building-${id}`}>
            <span className="dot lamp-building" />
            <b>building</b>
            {build && (
              <>
                &nbsp;<span className="mono">{shortSha(build.sha)}</span> (build {build.id})
              </>
            )}
          </div>
        )}
        {metrics && (
          <div className="tt-metrics" data-testid={`node-metrics-detail-${id}`}>
            {metrics.lines.map((l, i) => (
              <div key={i}>{l}</div>
            ))}
          </div>
        )}
        {alerts && alerts.count > 0 && <div className="tt-alerts">{alerts.title}</div>}
        {problems.length > 0 && <div className="tt-problems">{problems.length} problem{problems.length > 1 ? 's' : ''}</div>}
      </div>
      <Handle
        type="source"
        position={Position.Right}
        className={`handle handle-source${kind && !kind.connects ? ' handle-off' : ''}`}
        data-testid={`handle-source-${id}`}
        title={kind && !kind.connects ? `${label} makes no connections` : 'Drag to connect'}
      />
    </div>
  );
}

export const ElementNodeView = memo(ElementNodeViewImpl);
