import { useEffect, useRef, useState, type ReactNode } from 'react';
import { Icon } from './icons';

export interface MenuItem {
  label: ReactNode;
  testid: string;
  onSelect: () => void;
  // disabled: the reason, shown as the item's tooltip.
  disabled?: string;
  title?: string;
  danger?: boolean;
}

// useDismiss closes an open drop-down on a click outside the element the
// returned ref is put on, or on Escape.
export function useDismiss(open: boolean, close: () => void) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const down = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) close();
    };
    const key = (e: KeyboardEvent) => {
      if (e.key === 'Escape') close();
    };
    document.addEventListener('mousedown', down);
    document.addEventListener('keydown', key);
    return () => {
      document.removeEventListener('mousedown', down);
      document.removeEventListener('keydown', key);
    };
    // close only sets state; the listeners follow open.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [open]);
  return ref;
}

// OverflowMenu is a "⋯" button with a drop-down list of actions; a click
// outside, Escape or choosing an item closes it.
export function OverflowMenu({ items, testid = 'more', label = 'More actions' }: { items: MenuItem[]; testid?: string; label?: string }) {
  const [open, setOpen] = useState(false);
  const ref = useDismiss(open, () => setOpen(false));
  return (
    <div className="menu-anchor" ref={ref}>
      <button className="icon-btn" data-testid={testid} aria-haspopup="menu" aria-expanded={open} aria-label={label} title={label} onClick={() => setOpen((o) => !o)}>
        <Icon name="more" />
      </button>
      {open && (
        <div className="menu" role="menu" data-testid={`${testid}-menu`}>
          {items.map((it) => (
            <div key={it.testid} title={it.disabled ?? it.title}>
              <button
                role="menuitem"
                className={`menu-item${it.danger ? ' menu-danger' : ''}`}
                data-testid={it.testid}
                disabled={!!it.disabled}
                title={it.disabled ?? it.title}
                onClick={() => {
                  setOpen(false);
                  it.onSelect();
                }}
              >
                {it.label}
              </button>
            </div>
          ))}
        </div>
      )}
    </div>
  );
}
