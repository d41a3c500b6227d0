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

// OverflowMenu is a "⋯" button with a drop-down list of actions; a click
// outside, Escape or choosing an item closes it.
export function OverflowMenu({ items, testid = 'more', label = 'More actions' }: { items: MenuItem[]; testid?: string; label?: string }) {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const down = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) setOpen(false);
    };
    const key = (e: KeyboardEvent) => {
      if (e.key === 'Escape') setOpen(false);
    };
    document.addEventListener('mousedown', down);
    document.addEventListener('keydown', key);
    return () => {
      document.removeEventListener('mousedown', down);
      document.removeEventListener('keydown', key);
    };
  }, [open]);
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
