import { useEffect, useRef, useState } from 'react';

// copyText puts text on the clipboard: the Clipboard API where the page may
// use it (a secure context), else the selected input and execCommand.
async function copyText(text: string, input: HTMLInputElement | null): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall back below
  }
  if (!input) return false;
  input.focus();
  input.select();
  try {
    return document.execCommand('copy');
  } catch {
    return false;
  }
}

// CopyField shows a secret or a link once, read-only and selected, with a
// Copy button.
export function CopyField({ value, testid, copyTestid, label }: { value: string; testid: string; copyTestid: string; label: string }) {
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<'' | 'yes' | 'no'>('');
  useEffect(() => {
    input.current?.select();
  }, [value]);
  return (
    <div className="copy-field">
      <input ref={input} readOnly value={value} data-testid={testid} aria-label={label} className="mono" spellCheck={false} onFocus={(e) => e.target.select()} />
      <button
        type="button"
        className="btn btn-small"
        data-testid={copyTestid}
        data-copied={copied || undefined}
        onClick={async () => {
          setCopied((await copyText(value, input.current)) ? 'yes' : 'no');
          setTimeout(() => setCopied(''), 2500);
        }}
      >
        {copied === 'yes' ? 'Copied' : copied === 'no' ? 'Select and copy' : 'Copy'}
      </button>
    </div>
  );
}
