// The layers panel: each layer group on or off, the zones by level and
// status, and the legend.
import { t } from './i18n';
import { S, setLayer, setZoneLevel, setZoneStatus } from './store';
import { esc, guard, isExpert, type Binder, type Panel } from './ui';
import { zoneLevels, zoneStatuses, zoneStatusQuery } from './zonefilter';
import { isLayerName, layerNames, legendColors } from './layers';
import { applyLayers, applyZoneFilter } from './mapview';
import { loadZones } from './actions';

function render(): string {
  const groups = layerNames.filter((g) => isExpert() || !['zones', 'proposals', 'spread', 'cases'].includes(g));
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

function bind(b: Binder) {
  b.change('[data-layer]', (cb) => { const g = cb.dataset.layer; if (isLayerName(g)) { setLayer(g, cb.checked); applyLayers(); } });
  b.change('[data-zlevel]', (cb) => { setZoneLevel(cb.dataset.zlevel ?? '', cb.checked); applyZoneFilter(); });
  b.change('[data-zstatus]', (cb) => guard(async () => {
    const before = zoneStatusQuery(S.zoneFilter);
    setZoneStatus(cb.dataset.zstatus ?? '', cb.checked);
    // Zones that are not in force come from the API only when asked for.
    if (zoneStatusQuery(S.zoneFilter) !== before) await loadZones();
    applyZoneFilter();
  }));
}

export const layersPanel: Panel = { render, bind };
