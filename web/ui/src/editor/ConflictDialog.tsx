import type { Head } from '../api';
import { formatTime } from '../model/util';
import { Dialog } from '../ui/Dialog';

interface Props {
  head: Head;
  busy: boolean;
  onReload: () => void;
  onOverwrite: () => void;
  onCancel: () => void;
}

export function ConflictDialog({ head, busy, onReload, onOverwrite, onCancel }: Props) {
  return (
    <Dialog
      title="Conflict: the schema changed on the server"
      testId="conflict-dialog"
      onClose={onCancel}
      footer={
        <>
          <button className="btn" data-testid="conflict-cancel" onClick={onCancel} disabled={busy}>
            Cancel
          </button>
          <button className="btn" data-testid="conflict-reload" onClick={onReload} disabled={busy}>
            Reload
          </button>
          <button className="btn btn-danger" data-testid="conflict-overwrite" onClick={onOverwrite} disabled={busy}>
            Overwrite
          </button>
        </>
      }
    >
      <p data-testid="conflict-head">
        Revision <b>{head.revision || '?'}</b> was saved by <b>{head.author || 'someone'}</b>
        {head.created_at ? <> at {formatTime(head.created_at)}</> : null} after the revision you started from.
      </p>
      <p className="muted">
        <b>Reload</b> discards your local changes and loads that revision (Undo still brings them back). <b>Overwrite</b> saves your version on top of it.
      </p>
    </Dialog>
  );
}
