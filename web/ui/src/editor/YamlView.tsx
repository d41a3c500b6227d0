import { yaml as yamlLang } from '@codemirror/lang-yaml';
import { Annotation, Compartment, EditorState } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import { basicSetup } from 'codemirror';
import { useEffect, useRef, useState } from 'react';
import type { Schema } from '../model/types';
import { schemaToYaml, yamlToSchema, type YamlError } from '../model/yaml';
import { Icon } from '../ui/icons';

const external = Annotation.define<boolean>();

// readOnlyExt makes the text read-only (a viewer) or editable again.
function readOnlyExt(ro: boolean) {
  return [EditorState.readOnly.of(ro), EditorView.editable.of(!ro)];
}

const theme = EditorView.theme({
  '&': { height: '100%', backgroundColor: 'var(--bg)', color: 'var(--text)', fontSize: '13px' },
  '.cm-scroller': { fontFamily: 'var(--mono)', lineHeight: '1.5' },
  '.cm-gutters': { backgroundColor: 'var(--panel)', color: 'var(--muted)', borderRight: '1px solid var(--border)' },
  '.cm-activeLine': { backgroundColor: 'var(--hover)' },
  '.cm-activeLineGutter': { backgroundColor: 'var(--hover)' },
  '&.cm-focused .cm-cursor': { borderLeftColor: 'var(--text)' },
  '&.cm-focused .cm-selectionBackground, .cm-selectionBackground, ::selection': { backgroundColor: 'var(--selection) !important' },
});

interface Props {
  schema: Schema;
  onChange: (s: Schema) => void;
  onUpload: (s: Schema, name: string) => void;
  onError: (e: YamlError | null) => void;
  error: YamlError | null;
  // readOnly: the text can be read and copied, not changed; no upload.
  readOnly?: boolean;
}

export function YamlView({ schema, onChange, onUpload, onError, error, readOnly = false }: Props) {
  const ro = useRef(new Compartment());
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const cb = useRef({ onChange, onError });
  cb.current = { onChange, onError };
  const fileInput = useRef<HTMLInputElement>(null);
  // The last schema this view emitted, so that its echo is not written back.
  const emitted = useRef<Schema | null>(null);
  const pending = useRef(false);
  const [uploadError, setUploadError] = useState<string>('');

  function apply(v: EditorView) {
    pending.current = false;
    const r = yamlToSchema(v.state.doc.toString());
    if (r.ok) {
      emitted.current = r.schema;
      cb.current.onError(null);
      cb.current.onChange(r.schema);
    } else {
      cb.current.onError(r.error);
    }
  }

  useEffect(() => {
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: schemaToYaml(schema),
        extensions: [
          basicSetup,
          yamlLang(),
          theme,
          EditorState.tabSize.of(2),
          ro.current.of(readOnlyExt(readOnly)),
          EditorView.updateListener.of((u) => {
            if (!u.docChanged || u.transactions.some((t) => t.annotation(external))) return;
            clearTimeout(timer.current);
            pending.current = true;
            timer.current = setTimeout(() => apply(u.view), 350);
          }),
        ],
      }),
    });
    view.current = v;
    return () => {
      clearTimeout(timer.current);
      // An edit still waiting for its debounce is applied, not lost.
      if (pending.current) apply(v);
      v.destroy();
      view.current = null;
    };
    // The editor is created once; later schemas arrive through the effect below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    view.current?.dispatch({ effects: ro.current.reconfigure(readOnlyExt(readOnly)) });
  }, [readOnly]);

  // A schema changed elsewhere (undo, canvas, upload): show it, unless the
  // text already says the same (it was typed here) or is being typed.
  useEffect(() => {
    const v = view.current;
    if (!v || schema === emitted.current || pending.current) return;
    const cur = v.state.doc.toString();
    const parsed = yamlToSchema(cur);
    if (parsed.ok && JSON.stringify(parsed.schema) === JSON.stringify(schema)) return;
    if (!parsed.ok && error) return; // keep the user's broken text while they fix it
    const next = schemaToYaml(schema);
    if (next === cur) return;
    v.dispatch({ changes: { from: 0, to: cur.length, insert: next }, annotations: external.of(true) });
  }, [schema, error]);

  function download() {
    const text = view.current?.state.doc.toString() ?? schemaToYaml(schema);
    const blob = new Blob([text], { type: 'application/yaml' });
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = 'backplane.yaml';
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  async function upload(file: File) {
    const text = await file.text();
    const r = yamlToSchema(text);
    if (!r.ok) {
      setUploadError(`${file.name}: ${r.error.line ? `line ${r.error.line}: ` : ''}${r.error.message}`);
      return;
    }
    setUploadError('');
    cb.current.onError(null);
    onUpload(r.schema, file.name);
  }

  return (
    <div className="yaml-view" data-testid="yaml-view">
      <div className="yaml-toolbar">
        <span className="muted small">{readOnly ? 'backplane.yaml — read-only' : 'backplane.yaml — edits apply to the canvas when they parse'}</span>
        <div className="spacer" />
        <button className="btn btn-small" data-testid="yaml-download" onClick={download}>
          <Icon name="download" size={14} /> Download
        </button>
        {!readOnly && (
          <button className="btn btn-small" data-testid="yaml-upload" onClick={() => fileInput.current?.click()}>
            <Icon name="upload" size={14} /> Upload
          </button>
        )}
        <input
          disabled={readOnly}
          ref={fileInput}
          type="file"
          accept=".yaml,.yml,.json,application/yaml,text/yaml,application/json"
          data-testid="yaml-upload-input"
          className="hidden-input"
          onChange={(e) => {
            const f = e.target.files?.[0];
            if (f) void upload(f);
            e.target.value = '';
          }}
        />
      </div>
      {(error || uploadError) && (
        <div className="banner banner-error" data-testid="yaml-error" role="alert">
          {uploadError ||
            `YAML error${error?.line ? ` at line ${error.line}${error.col ? `, column ${error.col}` : ''}` : ''}: ${error?.message}. The canvas keeps the last valid schema.`}
        </div>
      )}
      <div className="yaml-editor" ref={host} />
    </div>
  );
}
