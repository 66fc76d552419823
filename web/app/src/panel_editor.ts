// The editor block, shown in the proposals panel (approve with edits) and
// the zone panel (a new version): tools, undo and redo, reason and save,
// and a stale version's conflict.
import { t } from './i18n';
import { S, history, type Tool } from './store';
import { esc, guard, type Binder } from './ui';
import { redo, reapply, save, setTool, showTheirs, endEdit, undo } from './editor';

const tools: readonly string[] = ['none', 'buildings', 'vertex', 'draw', 'hole'] satisfies Tool[];
const isTool = (s: string | undefined): s is Tool => s !== undefined && tools.includes(s);

/** editorBlock is the editor of the edit in progress ("" when none). */
export function editorBlock(): string {
  const tg = S.target;
  if (!tg) return '';
  const d = history.state;
  const tool = (k: Tool, key: string, kbd: string) => `<button data-tool="${k}" class="${S.tool === k ? 'on' : ''}" title="${kbd}">${esc(t(key))}</button>`;
  const conflict = S.conflict ? `<div class="msg warn" data-testid="conflict">${esc(t('conflict', { v: S.conflict.current_version, status: t('status.' + S.conflict.status) }))}
      <div class="row"><button id="theirs">${esc(t('showTheirs'))}</button><button class="primary" id="reapply">${esc(t('reapply'))}</button></div>
      ${S.conflict.theirs ? `<div class="muted" data-testid="theirs">${esc(t('version'))} ${S.conflict.theirs.current_version}: ${esc(S.conflict.theirs.current.author)} — ${esc(S.conflict.theirs.current.reason)} (${esc(t('population'))} ${S.conflict.theirs.current.population})</div>` : ''}</div>` : '';
  return `<div class="card" data-testid="editor"><div class="t">${esc(t('edit'))}: ${esc(tg.name)}</div>
    <div class="row">${tool('buildings', 'tool.buildings', 'B')}${tool('vertex', 'tool.vertex', 'V')}${tool('draw', 'tool.draw', 'P')}${tool('none', 'tool.none', 'Esc')}</div>
    <div class="row"><button id="undo" ${history.canUndo ? '' : 'disabled'}>${esc(t('undo'))}</button><button id="redo" ${history.canRedo ? '' : 'disabled'}>${esc(t('redo'))}</button></div>
    <div data-testid="pending">${esc(t('pendingChanges', { a: d.add.length, r: d.remove.length, g: d.geom ? t('geomChanged') : '' }))}</div>
    <label class="f">${esc(t('reason'))}<input id="editReason" data-testid="reason"></label>
    <div class="row"><button class="primary" id="save" data-testid="save">${esc(tg.kind === 'proposal' ? t('accept') : t('save'))}</button><button id="cancelEdit">${esc(t('cancel'))}</button></div>
    ${conflict}</div>
    <div class="legend muted"><i style="background:#16a34a"></i>${esc(t('legend.added'))} <i style="background:#dc2626"></i>${esc(t('legend.removed'))}</div>`;
}

/** bindEditor sets the editor block's handlers. */
export function bindEditor(b: Binder) {
  b.on('[data-tool]', (el) => { if (isTool(el.dataset.tool)) setTool(el.dataset.tool); });
  b.on('#undo', () => undo());
  b.on('#redo', () => redo());
  b.on('#save', () => guard(() => save(b.val('editReason'))));
  b.on('#cancelEdit', () => endEdit());
  b.on('#theirs', () => guard(showTheirs));
  b.on('#reapply', () => guard(reapply));
}
