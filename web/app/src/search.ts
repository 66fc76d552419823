// The top bar's building search (moved out of main.ts whole): results of
// the county's address search; a click shows the building.
import * as api from './client';
import type { Building } from './api_types';
import { t } from './i18n';
import { S } from './store';
import { $, esc } from './ui';

/** searchCounty lists the buildings matching q under the search box; show gets the one clicked. */
export async function searchCounty(q: string, guard: (fn: () => Promise<void>) => Promise<void>, show: (f: Building) => void) {
  const ul = $('#results');
  if (!q.trim()) { ul.hidden = true; return; }
  await guard(async () => {
    const fc = await api.app.search(S.county, q);
    ul.innerHTML = fc.features.length === 0 ? `<li>${esc(t('notFound'))}</li>` :
      fc.features.map((f, i) => `<li data-i="${i}">${esc(f.properties.address || f.properties.name || '#' + f.id)} <span class="muted">${esc(t('population'))} ${f.properties.population}</span></li>`).join('');
    ul.hidden = false;
    ul.onclick = (e) => {
      const li = (e.target as HTMLElement).closest('li');
      const f = li && fc.features[Number(li.dataset.i)];
      if (!f) return;
      ul.hidden = true;
      show(f);
    };
  });
}
