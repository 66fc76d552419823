// The zone panel: a zone's numbers (an estimated population marked), its
// editor, lifting and screenings (the form asks for the count actually
// tested, with the zone population beside it as a reference).
import { t } from './i18n';
import * as api from './client';
import { S, setLifting, type Target } from './store';
import type { Screening } from './api_types';
import { esc, fmt, guard, say, type Binder, type Panel } from './ui';
import { editorBlock, bindEditor } from './panel_editor';
import { popText, readScreening } from './screening';
import { loadZones, selectZone } from './actions';
import { beginEdit } from './editor';

function render(): string {
  const z = S.zone;
  const zs = S.zones?.features ?? [];
  const pick = `<h3>${esc(t('zones'))}</h3>${zs.map((f) => `<div class="card ${z?.id === f.properties.zone_id ? 'sel' : ''}" data-zone="${f.properties.zone_id}" data-testid="zone-card">
      <span class="t">${esc(f.properties.name)}</span> <span class="muted">#${f.properties.zone_id} v${f.properties.version} · ${esc(t('population'))} ${esc(popText(f.properties.population, !!f.properties.population_estimated))}</span></div>`).join('')}`;
  if (!z) return `<h2>${esc(t('tab.zone'))}</h2><p class="muted">${esc(t('noZone'))}</p>${pick}`;
  const c = z.current;
  const l = S.lifting;
  let lift = '';
  if (l) {
    const today = new Date(l.today);
    const days = Math.round((new Date(l.earliest_lifting).getTime() - today.getTime()) / 86400000);
    lift = `<h3>${esc(t('lifting'))}</h3><dl class="nums"><dt>${esc(t('earliest'))}</dt><dd>${esc(l.earliest_lifting)}</dd></dl>
      <div data-testid="countdown">${days > 0 ? esc(t('countdown', { d: days })) : l.eligible ? esc(t('liftToday')) : esc(t('earliestPassed'))}</div>
      ${partialNote(l.day_n_screening)}
      <div class="msg ${l.eligible ? 'ok' : 'warn'}" data-testid="eligible">${esc(l.eligible ? t('eligible') : t('notEligible'))}<br><span class="muted">${esc((l.reasons || []).join(' '))}</span></div>`;
  }
  const active = z.status === 'active';
  return `<h2 data-testid="zone-title">${esc(c.name)} <span class="muted">#${z.id} · ${esc(t('version'))} ${z.current_version} · ${esc(t('status.' + z.status))}</span></h2>
    <dl class="nums"><dt>${esc(t('level'))}</dt><dd>${esc(t('level.' + c.level))}</dd>
    <dt>${esc(t('population'))}</dt><dd data-testid="zone-population"${c.population_estimated ? ` title="${esc(t('estimatedHint'))}"` : ''}>${esc(popText(c.population, !!c.population_estimated))}</dd><dt>${esc(t('staff'))}</dt><dd>${fmt(c.staff_required)}</dd>
    <dt>${esc(t('buildings'))}</dt><dd>${fmt(c.building_ids.length)}</dd><dt>${esc(t('area'))}</dt><dd>${fmt(Math.round(c.area_m2))} m²</dd></dl>
    ${active && !S.target ? `<button class="primary" id="startEdit" data-testid="start-edit">${esc(t('edit'))}</button>` : ''}
    ${S.target?.kind === 'zone' ? editorBlock() : ''}
    ${lift}
    ${active ? `<h3>${esc(t('screening'))}</h3>
    <div class="row"><label>${esc(t('roundDate'))} <input id="scrDate" type="date" value="${esc(l?.today ?? '')}"></label></div>
    <div class="row"><label>${esc(t('tested'))} <input id="scrTested" type="number" min="0" step="1" value="" placeholder="${esc(t('testedHint'))}" required size="6"></label>
    <span class="muted" data-testid="scr-population">${esc(t('popReference', { n: popText(c.population, !!c.population_estimated) }))}</span></div>
    <div class="row"><label>${esc(t('negatives'))} <input id="scrNeg" type="number" min="0" step="1" value="" size="6"></label>
    <label>${esc(t('positives'))} <input id="scrPos" type="number" min="0" value="0" size="4"></label></div>
    <button id="recordScreening" data-testid="record-screening">${esc(t('record'))}</button>
    <h3>${esc(t('lift'))}</h3><label class="f">${esc(t('reason'))}<input id="liftReason"></label><button class="danger" id="lift">${esc(t('lift'))}</button>` : ''}
    ${pick}`;
}

// partialNote marks a day-N round recorded as partial coverage: it is shown,
// but never counts for lifting.
function partialNote(r: Readonly<Screening> | null): string {
  if (!r?.partial_coverage) return '';
  return `<div class="msg warn" data-testid="partial-coverage">${esc(t('partialCoverage', {
    d: r.round_date, n: fmt(r.tested), p: fmt(Math.max(r.population, r.zone_population ?? 0)), r: r.partial_reason ?? '' }))}</div>`;
}

function bind(b: Binder) {
  b.on('[data-zone]', (el) => guard(() => selectZone(Number(el.dataset.zone))));
  b.on('#startEdit', () => {
    const z = S.zone;
    if (!z) return;
    const tg: Target = { kind: 'zone', id: z.id, version: z.current_version, name: z.current.name, buildingIDs: new Set(z.current.building_ids), geometry: z.current.geometry };
    beginEdit(tg);
  });
  b.on('#recordScreening', () => guard(async () => {
    const z = S.zone;
    if (!z) return;
    const form = readScreening({ date: b.val('scrDate'), tested: b.val('scrTested'), negatives: b.val('scrNeg'), positives: b.val('scrPos') });
    if ('error' in form) { say('err', t(form.error)); return; }
    const res = await api.zones.addScreening(z.id, form.body);
    setLifting(res.lifting);
    say('ok', t('recorded'));
  }));
  b.on('#lift', () => guard(async () => {
    const z = S.zone;
    if (!z) return;
    const reason = b.val('liftReason');
    if (!reason) { say('err', t('reasonRequired')); return; }
    await api.zones.lift(z.id, { reason, version: z.current_version });
    await loadZones(); await selectZone(z.id);
    say('ok', t('lifted'));
  }));
  bindEditor(b);
}

export const zonePanel: Panel = { render, bind };
