// The top bar: the county picker, the building search, the as-of time
// (experts), who is signed in, language and sign-out.
import { t, getLang } from './i18n';
import * as api from './client';
import { S, setAsOf, setCounty } from './store';
import { $, esc, guard, isExpert, renderSide, role } from './ui';
import { fitCounty, setData, theMap } from './mapview';
import { loadProposals, loadZones } from './actions';
import { searchCounty } from './search';
import { refreshBadge } from './panel_loop';

/** renderTop draws the top bar; switchLang is what its language button does. */
export function renderTop(switchLang: () => void) {
  const top = $('#top');
  const c = S.counties;
  top.innerHTML = `<h1>${esc(t('app'))}</h1>
    <label><span class="lbl">${esc(t('county'))}</span> <select id="county" data-testid="county">${c.map((x) => `<option value="${x.id}" ${x.id === S.county ? 'selected' : ''}>${esc(getLang() === 'en' && x.name_en ? x.name_en : x.name)}</option>`).join('')}</select></label>
    <div class="searchbox"><input id="search" type="search" placeholder="${esc(t('search'))}" aria-label="${esc(t('search'))}"><ul class="results" id="results" hidden></ul></div>
    ${isExpert() ? `<label title="${esc(t('asOf'))}"><span class="lbl">${esc(t('asOf'))}</span> <input id="asof" type="datetime-local" value="${esc(S.asOf)}" aria-label="${esc(t('asOf'))}"></label><button id="asofNow">${esc(t('now'))}</button>` : ''}
    <span class="grow"></span>
    <span data-testid="who" class="who">${esc(t('signedInAs', { user: S.me?.user?.username ?? '', role: t('role.' + role()) }))}</span>
    <button id="lang">${esc(t('lang'))}</button><button id="logout">${esc(t('logout'))}</button>`;
  $<HTMLSelectElement>('#county').onchange = async (e) => {
    setCounty(Number((e.target as HTMLSelectElement).value));
    fitCounty();
    if (isExpert()) await guard(async () => { await loadProposals(); await loadZones(); await refreshBadge(); });
    renderSide();
  };
  $('#lang').onclick = switchLang;
  $('#logout').onclick = async () => { await api.auth.logout().catch(() => {}); location.reload(); };
  const input = $<HTMLInputElement>('#search');
  let timer = 0;
  input.oninput = () => { clearTimeout(timer); timer = window.setTimeout(() => search(input.value), 250); };
  if (isExpert()) {
    $<HTMLInputElement>('#asof').onchange = async (e) => { setAsOf((e.target as HTMLInputElement).value); await guard(loadZones); };
    $('#asofNow').onclick = async () => { setAsOf(''); renderTop(switchLang); await guard(loadZones); };
  }
}

async function search(q: string) {
  await searchCounty(q, guard, (f) => {
    setData('rz-search', { type: 'FeatureCollection', features: [f] });
    theMap().flyTo({ center: f.properties.center, zoom: 17 });
  });
}
