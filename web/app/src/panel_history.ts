// The history panel: the selected zone's versions, and the diff of the one
// clicked with the version before (numbers here, buildings on the map).
import { t } from './i18n';
import { S } from './store';
import { esc, fmt, guard, type Binder, type Panel } from './ui';
import { showDiff } from './actions';

function render(): string {
  const z = S.zone;
  if (!z) return `<h2>${esc(t('history'))}</h2><p class="muted">${esc(t('noZone'))}</p>`;
  const d = S.diff;
  const diff = d ? `<div class="card" data-testid="diff"><div class="t">${esc(t('diff'))}: ${esc(t('diffOf', { from: d.from, to: d.to }))}</div>
    <dl class="nums"><dt>${esc(t('buildingsAdded'))}</dt><dd data-testid="diff-added">${d.buildings_added.length}</dd>
    <dt>${esc(t('buildingsRemoved'))}</dt><dd data-testid="diff-removed">${d.buildings_removed.length}</dd>
    <dt>${esc(t('population'))}</dt><dd data-testid="diff-population">${fmt(d.population_from)} → ${fmt(d.population_to)} (${d.population_delta >= 0 ? '+' : ''}${fmt(d.population_delta)})</dd>
    <dt>${esc(t('staffFromTo'))}</dt><dd data-testid="diff-staff">${fmt(d.staff_required_from)} → ${fmt(d.staff_required_to)}</dd>
    <dt>${esc(t('areaAdded'))}</dt><dd>${fmt(Math.round(d.area_added_m2))} m²</dd><dt>${esc(t('areaRemoved'))}</dt><dd>${fmt(Math.round(d.area_removed_m2))} m²</dd></dl>
    <div class="legend muted"><i style="background:#16a34a"></i>${esc(t('legend.added'))} <i style="background:#dc2626"></i>${esc(t('legend.removed'))}</div></div>` : '';
  return `<h2>${esc(t('history'))}: ${esc(z.current.name)}</h2>
    <ul class="versions" data-testid="versions">${S.versions.slice().reverse().map((v) => `<li data-version="${v.version}" class="${d?.to === v.version ? 'sel' : ''}">
      <b>v${v.version}</b> ${esc(v.change)} · ${esc(t('status.' + v.status))} · ${esc(t('population'))} ${fmt(v.population)}<br>
      <span class="muted">${esc(new Date(v.valid_from).toLocaleString())} · ${esc(v.author)} · ${esc(v.reason)}</span></li>`).join('')}</ul>${diff}`;
}

function bind(b: Binder) {
  b.on('[data-version]', (el) => guard(() => showDiff(Number(el.dataset.version))));
}

export const historyPanel: Panel = { render, bind };
