import type { Health } from '../api';

export function ClusterBadge({ health }: { health: Health | null }) {
  if (!health) return null;
  if (health.status === 'unreachable')
    return (
      <span className="badge badge-red" data-testid="cluster-badge" title="The Backplane server does not answer">
        Server unreachable
      </span>
    );
  if (health.cluster === 'connected')
    return (
      <span className="badge badge-green" data-testid="cluster-badge" title="A Nomad cluster is connected">
        Cluster connected
      </span>
    );
  return (
    <span className="badge badge-amber" data-testid="cluster-badge" title="Plan and deploy need NOMAD_ADDR on the server">
      No cluster connected
    </span>
  );
}
