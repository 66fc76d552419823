// The history, layers and publish panels.
import { t } from './i18n';
import { S, esc, fmt, isExpert } from './state';

import { zoneLevels, zoneStatuses } from './zonefilter';
import { popText } from './screening';

export function historyPanel(): string {
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
    <ul class="versions" data-testid="versions">${S.versions.slice().reverse().map((v: any) => `<li data-version="${v.version}" class="${d?.to === v.version ? 'sel' : ''}">
      <b>v${v.version}</b> ${esc(v.change)} · ${esc(t('status.' + v.status))} · ${esc(t('population'))} ${fmt(v.population)}<br>
      <span class="muted">${esc(new Date(v.valid_from).toLocaleString())} · ${esc(v.author)} · ${esc(v.reason)}</span></li>`).join('')}</ul>${diff}`;
}

export const layerGroups: Record<string, string[]> = {
  zones: ['rz-zones-fill', 'rz-zones-line'],
  published: ['zones-fill', 'zones-line'],
  proposals: ['rz-proposals-fill', 'rz-proposals-line', 'proposals-fill', 'proposals-line'],
  buildings: ['buildings'],
  // barriers, one toggle per kind (the style's layers)
  roads: ['roads-minor', 'roads-secondary', 'roads-major'],
  water: ['water', 'waterways'],
  railways: ['railways'],
  ridges: ['ridges'],
  walls: ['walls'],
  admin: ['boundaries-community', 'boundaries-street', 'boundaries-county'],
  spread: ['spread'],
  cases: ['cases'],
};
// the layer groups that are barriers (snapping targets)
export const barrierKinds = ['roads', 'water', 'railways', 'ridges', 'walls'];
export const legendColors: Record<string, string> = {
  zones: '#d7301f', published: '#fc8d59', proposals: '#6a51a3', buildings: '#ddd6cf', roads: '#f9d88a', water: '#9ecae1', railways: '#636363', ridges: '#8c6d31', walls: '#969696', admin: '#54278f', spread: '#fb6a4a', cases: '#cb181d',
};

export function layersPanel(): string {
  const groups = Object.keys(layerGroups).filter((g) => isExpert() || !['zones', 'proposals', 'spread', 'cases'].includes(g));
  const zf = S.zoneFilter;
  const zoneChoice = isExpert() ? `<div class="zone-filter" data-testid="zone-filter">
    <div>${esc(t('filter.levels'))}: ${zoneLevels.map((l) => `<label><input type="checkbox" data-zlevel="${l}" ${zf.levels[l] ? 'checked' : ''}>${esc(t('level.' + l))}</label>`).join(' ')}</div>
    <div>${esc(t('filter.statuses'))}: ${zoneStatuses.map((st) => `<label><input type="checkbox" data-zstatus="${st}" ${zf.statuses[st] ? 'checked' : ''}>${esc(t('status.' + st))}</label>`).join(' ')}</div></div>` : '';
  return `<h2>${esc(t('layers'))}</h2>${groups.map((g) => `<label class="f legend"><input type="checkbox" data-layer="${g}" ${S.layers[g] ? 'checked' : ''}>
    <i style="background:${legendColors[g]}"></i>${esc(t('layer.' + g))}</label>${g === 'zones' ? zoneChoice : ''}`).join('')}
    <h3>${esc(t('legend'))}</h3><div class="legend">
    <div><i style="background:#d7301f"></i>${esc(t('level.high'))}</div><div><i style="background:#fc8d59"></i>${esc(t('level.medium'))}</div>
    <div><i style="background:#16a34a"></i>${esc(t('legend.added'))}</div><div><i style="background:#dc2626"></i>${esc(t('legend.removed'))}</div>
    <div><i style="background:#f97316"></i>${esc(t('legend.barrier'))}</div></div>`;
}

export function publishPanel(): string {
  const p = S.preview;
  let body = '';
  if (p) {
    body = p.notices.length === 0 ? `<p class="muted" data-testid="nothing-pending">${esc(t('nothingPending'))}</p>` : p.notices.map((n: any) => `<div class="card" data-testid="notice-preview">
      <div class="t">${esc(n.title_zh)}</div><div class="muted">${esc(n.kind)} · CAP ${esc(n.cap_msg_type)}</div>
      ${(n.figures ?? []).map((f: any) => `<div class="muted" data-testid="preview-figures">#${f.zone_id} v${f.version} · ${esc(t('population'))} <span${f.population_estimated ? ` title="${esc(t('estimatedHint'))}"` : ''}>${esc(popText(f.population, !!f.population_estimated))}</span> · ${esc(t('staff'))} ${fmt(f.staff_required)}</div>`).join('')}
      <h3>${esc(t('noticeZh'))}</h3><pre class="doc" data-testid="body-zh">${esc(n.body_zh)}</pre>
      <h3>${esc(t('noticeEn'))}</h3><div class="t">${esc(n.title_en)}</div><pre class="doc" data-testid="body-en">${esc(n.body_en)}</pre>
      <h3>${esc(t('cap'))}</h3><pre class="doc" data-testid="cap">${esc(n.cap_xml)}</pre>
      <h3>${esc(t('atom'))}</h3><pre class="doc" data-testid="atom">${esc(n.atom)}</pre></div>`).join('') +
      `<label class="f">${esc(t('reason'))}<input id="pubReason"></label><button class="primary" id="publishNow" data-testid="publish-now">${esc(t('publishNow'))}</button>`;
  }
  const done = S.publishResult ? `<div class="msg ok" data-testid="published">${esc(t('published', { ids: S.publishResult.map((n: any) => '#' + n.id).join(', ') }))}
    <br><a href="/counties/${S.county}" target="_blank" rel="noopener">${esc(t('publicPage'))}</a></div>` : '';
  return `<h2>${esc(t('publish'))}</h2><button id="preview" data-testid="preview">${esc(t('preview'))}</button>${done}${body}`;
}
