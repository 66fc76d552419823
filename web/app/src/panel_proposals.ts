// The proposals panel and the editor block it shares with the zone panel.
import { t } from './i18n';
import { S, history, esc, fmt, type Tool } from './state';
import { rationaleList, population } from './rationale';

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

export function proposalsPanel(): string {
  const now = new Date();
  const local = new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  const list = S.proposals.length === 0 ? `<p class="muted">${esc(t('noProposals'))}</p>` : S.proposals.map((p) => {
    const r = p.rationale || {};
    const sel = S.selProposal?.id === p.id;
    return `<div class="card ${sel ? 'sel' : ''}" data-proposal="${p.id}" data-testid="proposal">
      <div class="t">${esc(p.name || '#' + p.id)} <span class="muted">#${p.id} · ${esc(t('level.' + p.level))} · ${esc(t('status.' + p.status))}</span></div>
      <dl class="nums"><dt>${esc(t('population'))}</dt><dd data-testid="population">${esc(population(p.population, !!p.population_estimated))}</dd>
      ${p.workers ? `<dt>${esc(t('workers'))}</dt><dd data-testid="workers">${fmt(p.workers)}</dd>` : ''}
      <dt>${esc(t('staff'))}</dt><dd>${fmt(p.staff_required)}</dd>
      <dt>${esc(t('buildings'))}</dt><dd>${fmt(p.buildings)}</dd>
      <dt>${esc(t('onBarriers'))}</dt><dd>${Math.round((r.boundary_on_barriers ?? 0) * 100)}%${r.enlarged ? ' · ' + esc(t('enlarged')) : ''}</dd></dl>
      <div class="muted">${esc(t('rationale'))}:</div>${rationaleList(p)}
      ${sel ? `<div class="muted" data-testid="barrier-names">${esc(t('barriers'))}: ${esc((p.boundary_barriers || []).slice(0, 8).map((b: any) => b.name || b.kind).join('、'))}</div>
      <div class="row"><button class="primary" data-act="accept">${esc(t('accept'))}</button><button data-act="editaccept">${esc(t('editAccept'))}</button></div>
      ${(r.enlargements || []).length ? `<div class="row"><button data-act="enlarge" data-testid="enlarge">${esc(t('enlargeLevel'))}</button><button data-act="shrink" data-testid="shrink">${esc(t('shrinkLevel'))}</button></div>` : ''}
      <label class="f">${esc(t('reason'))}<input data-testid="decision-reason" id="decisionReason"></label>
      <div class="row"><button class="danger" data-act="reject">${esc(t('reject'))}</button></div>` : ''}
    </div>`;
  }).join('');
  const editing = S.target?.kind === 'proposal' ? editorBlock() : '';
  return `<h2>${esc(t('tab.proposals'))}</h2>
    <div class="row"><button class="primary" id="run" data-testid="run">${esc(t('run'))}</button> <span class="muted" data-testid="run-info">${esc(S.runInfo === 'running' ? t('running') : S.runInfo ? t('run.done', S.runInfo) : '')}</span></div>
    <details><summary>${esc(t('params'))}</summary>
    <label class="f">${esc(t('runAt'))}<input id="runAt" type="datetime-local" value="${local}"></label>
    <label class="f">${esc(t('params'))}<textarea id="runParams" rows="2" placeholder='{"lookback_days": 14}'></textarea></label></details>
    ${editing}${list}`;
}
