// The proposals panel: run the engine, review its proposals (numbers,
// rationale, barriers) and decide: accept, accept with edits, enlarge or
// shrink one level, or reject.
import { t } from './i18n';
import * as api from './client';
import { S, setRunInfo, setSelProposal, setTab, type Target } from './store';
import { rationaleList, population } from './rationale';
import { $, esc, fmt, guard, inputValue, renderSide, say, toast, type Binder, type Panel } from './ui';
import { editorBlock, bindEditor } from './panel_editor';
import { loadProposals, loadZones, selectProposal, selectZone } from './actions';
import { beginEdit } from './editor';

function render(): string {
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
      ${sel ? `<div class="muted" data-testid="barrier-names">${esc(t('barriers'))}: ${esc((p.boundary_barriers || []).slice(0, 8).map((b) => b.name || b.kind).join('、'))}</div>
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

/** runEngine runs the engine on the county (at the time and with the parameters given) and lists its proposals. */
async function runEngine() {
  const at = inputValue('#runAt');
  const raw = ($<HTMLTextAreaElement>('#runParams')?.value ?? '').trim();
  let params: unknown = undefined;
  if (raw) {
    try { params = JSON.parse(raw); } catch (e) { say('err', `${t('params')}: ${(e as Error).message}`); return; }
  }
  setRunInfo('running');
  renderSide();
  const fc = await api.proposals.run({ county_id: S.county, at: at ? new Date(at).toISOString() : undefined, params: params || undefined });
  const n = fc.features.filter((f) => f.properties.kind === 'proposal').length;
  const { runs } = await api.app.runs(S.county);
  setRunInfo({ run: runs[0]?.id ?? '?', n });
  await loadProposals();
  renderSide();
}

function bind(b: Binder) {
  const sel = () => S.selProposal;
  b.on('#run', () => guard(runEngine));
  b.on('[data-proposal]', (el) => {
    const p = S.proposals.find((x) => x.id === Number(el.dataset.proposal));
    if (p && S.selProposal?.id !== p.id) void selectProposal(p);
  });
  b.on('[data-act="accept"]', () => guard(async () => {
    const p = sel();
    if (!p) return;
    const reason = b.val('decisionReason') || 'accepted as proposed';
    const z = await api.proposals.approve(p.id, { reason });
    toast(t('accepted', { zone: '#' + z.id }));
    setSelProposal(null);
    await loadProposals(); await loadZones();
    await selectZone(z.id);
    setTab('zone');
    say('ok', t('accepted', { zone: '#' + z.id }));
  }));
  b.on('[data-act="reject"]', () => guard(async () => {
    const p = sel();
    if (!p) return;
    const reason = b.val('decisionReason');
    if (!reason) { say('err', t('reasonRequired')); return; }
    await api.proposals.reject(p.id, reason);
    setSelProposal(null);
    await loadProposals();
    say('ok', t('rejected'));
  }));
  // Enlarge or shrink one level: the new proposal supersedes the selected one.
  for (const dir of ['enlarge', 'shrink'] as const) b.on(`[data-act="${dir}"]`, () => guard(async () => {
    const old = sel()?.id;
    if (old === undefined) return;
    const res = await api.proposals.step(old, dir, b.val('decisionReason'));
    const ids = (res.proposals || []).map((p) => p.id);
    await loadProposals();
    const next = S.proposals.find((x) => x.id === ids[0]);
    if (next) void selectProposal(next);
    say('ok', t('stepped', { ids: ids.map((i) => '#' + i).join(', '), old }));
  }));
  b.on('[data-act="editaccept"]', () => {
    const p = sel();
    if (!p) return;
    const tg: Target = { kind: 'proposal', id: p.id, version: 0, name: p.name, buildingIDs: new Set(p.building_ids ?? []), geometry: p.geometry };
    beginEdit(tg);
  });
  bindEditor(b);
}

export const proposalsPanel: Panel = { render, bind };
