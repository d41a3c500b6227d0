// Simple monochrome line icons (24x24, stroke = currentColor).
import type { ReactNode } from 'react';

function Svg({ children, size = 18, title }: { children: ReactNode; size?: number; title?: string }) {
  return (
    <svg
      width={size}
      height={size}
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      strokeWidth={1.7}
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden={title ? undefined : true}
      role={title ? 'img' : undefined}
    >
      {title && <title>{title}</title>}
      {children}
    </svg>
  );
}

const cylinder = (
  <>
    <ellipse cx="12" cy="6" rx="7" ry="2.8" />
    <path d="M5 6v12c0 1.5 3.1 2.8 7 2.8s7-1.3 7-2.8V6" />
    <path d="M5 12c0 1.5 3.1 2.8 7 2.8s7-1.3 7-2.8" />
  </>
);

function glyph(text: string) {
  return (
    <text x="12" y="16" textAnchor="middle" fontSize="9" fontWeight="700" fill="currentColor" stroke="none" fontFamily="system-ui, sans-serif">
      {text}
    </text>
  );
}

const KIND_ICONS: Record<string, ReactNode> = {
  terminal: (
    <>
      <rect x="3" y="4" width="18" height="16" rx="2" />
      <path d="M7 9l3 3-3 3M12 15h5" />
    </>
  ),
  docker: (
    <>
      <path d="M3 12h16c1 0 2-.5 2.5-1.5M3 12c0 4 3 7 8 7 5 0 8-3 9.5-8.5" />
      <rect x="5" y="8" width="3" height="3" />
      <rect x="8.5" y="8" width="3" height="3" />
      <rect x="12" y="8" width="3" height="3" />
      <rect x="8.5" y="4.5" width="3" height="3" />
    </>
  ),
  go: (
    <>
      <rect x="3" y="5" width="18" height="14" rx="3" />
      {glyph('Go')}
    </>
  ),
  nodejs: (
    <>
      <path d="M12 2.5l8.5 4.9v9.2L12 21.5l-8.5-4.9V7.4z" />
      {glyph('JS')}
    </>
  ),
  python: (
    <>
      <path d="M12 3c-4 0-4 1.7-4 3v2h4v1H6c-2 0-3 1.5-3 4s1 4 3 4h2v-2.5c0-1.5 1-2.5 2.5-2.5h3c1.5 0 2.5-1 2.5-2.5V6c0-1.5-1-3-4.5-3z" />
      <path d="M12 21c4 0 4-1.7 4-3v-2h-4v-1h6c2 0 3-1.5 3-4s-1-4-3-4h-2" />
      <circle cx="10" cy="5.5" r=".6" fill="currentColor" />
      <circle cx="14" cy="18.5" r=".6" fill="currentColor" />
    </>
  ),
  globe: (
    <>
      <circle cx="12" cy="12" r="9" />
      <path d="M3 12h18M12 3c2.5 2.5 3.5 5.5 3.5 9s-1 6.5-3.5 9c-2.5-2.5-3.5-5.5-3.5-9s1-6.5 3.5-9z" />
    </>
  ),
  redis: (
    <>
      <path d="M3 8l9-4 9 4-9 4z" />
      <path d="M3 12l9 4 9-4" />
      <path d="M3 16l9 4 9-4" />
    </>
  ),
  mongodb: (
    <>
      <path d="M12 2c3 3.5 5 7 5 10.5 0 3.5-2.2 6-5 7-2.8-1-5-3.5-5-7C7 9 9 5.5 12 2z" />
      <path d="M12 6v16" />
    </>
  ),
  mysql: (
    <>
      {cylinder}
    </>
  ),
  postgres: (
    <>
      {cylinder}
      <path d="M12 14.8v6" />
    </>
  ),
  nginx: (
    <>
      <path d="M12 2.5l8.5 4.9v9.2L12 21.5l-8.5-4.9V7.4z" />
      <path d="M9 16V8l6 8V8" />
    </>
  ),
  rabbitmq: (
    <>
      <path d="M4 20V6a2 2 0 0 1 4 0v5h2V6a2 2 0 0 1 4 0v5h4a2 2 0 0 1 2 2v7z" />
      <rect x="14" y="14" width="3" height="3" />
    </>
  ),
  clock: (
    <>
      <circle cx="12" cy="12" r="9" />
      <path d="M12 7v5l3 2" />
    </>
  ),
  cog: (
    <>
      <circle cx="12" cy="12" r="3" />
      <path d="M12 2v3M12 19v3M2 12h3M19 12h3M4.9 4.9l2.1 2.1M17 17l2.1 2.1M4.9 19.1L7 17M17 7l2.1-2.1" />
    </>
  ),
  database: cylinder,
  queue: (
    <>
      <rect x="3" y="6" width="4" height="12" rx="1" />
      <rect x="10" y="6" width="4" height="12" rx="1" />
      <rect x="17" y="6" width="4" height="12" rx="1" />
    </>
  ),
  box: (
    <>
      <path d="M12 2.5l8.5 4.5v10L12 21.5 3.5 17V7z" />
      <path d="M3.5 7L12 11.5 20.5 7M12 11.5v10" />
    </>
  ),
};

export function KindIcon({ icon, size, title }: { icon?: string; size?: number; title?: string }) {
  const body = (icon && KIND_ICONS[icon]) || KIND_ICONS.box;
  return (
    <Svg size={size} title={title}>
      {body}
    </Svg>
  );
}

const UI_ICONS: Record<string, ReactNode> = {
  undo: <path d="M9 14L4 9l5-5M4 9h10a6 6 0 0 1 0 12h-3" />,
  redo: <path d="M15 14l5-5-5-5M20 9H10a6 6 0 0 0 0 12h3" />,
  sun: (
    <>
      <circle cx="12" cy="12" r="4" />
      <path d="M12 2v2M12 20v2M2 12h2M20 12h2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4" />
    </>
  ),
  moon: <path d="M20 14.5A8 8 0 0 1 9.5 4 8 8 0 1 0 20 14.5z" />,
  layout: (
    <>
      <rect x="2.5" y="4" width="6" height="5" rx="1" />
      <rect x="15.5" y="4" width="6" height="5" rx="1" />
      <rect x="15.5" y="15" width="6" height="5" rx="1" />
      <path d="M8.5 6.5h7M12 6.5v11h3.5" />
    </>
  ),
  fit: <path d="M4 9V4h5M20 9V4h-5M4 15v5h5M20 15v5h-5" />,
  search: (
    <>
      <circle cx="11" cy="11" r="7" />
      <path d="M20 20l-4-4" />
    </>
  ),
  back: <path d="M15 18l-6-6 6-6" />,
  download: <path d="M12 3v12M7 10l5 5 5-5M4 20h16" />,
  upload: <path d="M12 21V9M7 14l5-5 5 5M4 4h16" />,
  trash: <path d="M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13" />,
  plus: <path d="M12 5v14M5 12h14" />,
  warning: (
    <>
      <path d="M12 3l10 18H2z" />
      <path d="M12 10v5M12 18v.5" />
    </>
  ),
  error: (
    <>
      <circle cx="12" cy="12" r="9" />
      <path d="M12 7v6M12 16.5v.5" />
    </>
  ),
  code: <path d="M9 8l-4 4 4 4M15 8l4 4-4 4" />,
  logs: <path d="M4 5h16M4 9.5h10M4 14h16M4 18.5h7" />,
  refresh: <path d="M20 11a8 8 0 1 0-2.3 5.7M20 5v6h-6" />,
  bell: <path d="M6 16V11a6 6 0 0 1 12 0v5l1.5 2h-15zM10 20.5a2 2 0 0 0 4 0" />,
  more: (
    <g fill="currentColor" stroke="none">
      <circle cx="5" cy="12" r="1.8" />
      <circle cx="12" cy="12" r="1.8" />
      <circle cx="19" cy="12" r="1.8" />
    </g>
  ),
  graph: (
    <>
      <rect x="2.5" y="9" width="6" height="6" rx="1" />
      <rect x="15.5" y="3" width="6" height="6" rx="1" />
      <rect x="15.5" y="15" width="6" height="6" rx="1" />
      <path d="M8.5 12h3.5V6h3.5M12 12v6h3.5" />
    </>
  ),
};

export function Icon({ name, size }: { name: keyof typeof UI_ICONS | string; size?: number }) {
  return <Svg size={size}>{UI_ICONS[name] ?? null}</Svg>;
}
