// The expert web app: review proposals, edit zones (click buildings; drag
// vertices or draw with snapping), see versions and diffs, record
// screenings, lift, and publish with a preview of the notice, CAP and Atom.
// This file starts it: sign-in, the session, the map and the shortcuts; the
// panels (panel_*.ts) own their DOM and handlers, the store (store.ts) the
// state, the client (client.ts) the requests.
import type { MapMouseEvent, Map as MLMap } from 'maplibre-gl';
import * as api from './client';
import { setCSRF } from './api';
import type { Me } from './api_types';
import { t, setLang, getLang, type Lang } from './i18n';
import type { Areal } from './geom';
import { S, history, setCounties, setSession, setTab } from './store';
import { $, guard, inputValue, isExpert, setHooks } from './ui';
import { hasMap, initMap, mapTimes, theMap } from './mapview';
import { fetchProposals, fetchZones, selectProposal, selectZone, showProposals, showZones } from './actions';
import { loadDrawGeometry, redo, save, setTool, snapAt, startEditor, theDraw, toggleBuilding, undo } from './editor';
import { firstRenderMark } from './drawing';
import { renderSide } from './side';
import { refreshBadge } from './panel_loop';
import { renderTop } from './topbar';
import { loginForm } from './login';
import { bindKeys } from './keys';
import 'maplibre-gl/dist/maplibre-gl.css';
import './style.css';

// What the browser tests (web/e2e) read: the store, the map and editor, and
// the timings. firstRender: ms from navigation start to the first frame
// with the app's layers filled (the zones for experts), also as the
// performance mark rz-first-render; mapLoadMs: from initMap until the style
// is parsed.
const app = {
  S, history, firstRender: 0, ready: false,
  get map() { return hasMap() ? theMap() : undefined; },
  get draw() { return theDraw(); },
  get mapLoadMs() { return mapTimes.mapLoadMs; },
  get snapAt() { return snapAt; },
  loadDrawGeometry: (g: Areal) => loadDrawGeometry(g),
};
declare global { interface Window { rzApp: typeof app } }
window.rzApp = app;

setHooks({ renderSide, showLogin });

async function start() {
  const saved = localStorage.getItem('rz.lang');
  setLang(saved === 'en' ? 'en' : 'zh');
  const me = await api.auth.me();
  if (!me.user || !['expert', 'publisher', 'admin'].includes(me.role)) { showLogin(); return; }
  await signedIn(me);
}

function showLogin(err = '') {
  loginForm(err, { lang: () => { switchLang(); showLogin(err); }, retry: showLogin, signedIn });
}

async function signedIn(me: Me) {
  const expert = me.role === 'expert' || me.role === 'admin';
  // Experts see every active zone from the zones API; publishers, who may
  // not read it, the published zones of the tiles.
  setSession(me, expert ? 'proposals' : 'publish', !expert);
  setCSRF(me.csrf_token ?? '');
  $('#login').hidden = true;
  $('#login').innerHTML = '';
  const { counties } = await api.app.counties();
  const fromURL = Number(new URLSearchParams(location.search).get('county'));
  setCounties(counties, counties.find((c) => c.id === fromURL)?.id ?? counties[0]?.id ?? 0);
  renderTop(switchLang);
  renderSide();
  // The proposals and zones load while the map starts (not after it).
  const data = isExpert() ? Promise.all([fetchProposals(), fetchZones()]) : null;
  data?.catch(() => {}); // awaited below; not an unhandled rejection if initMap fails first
  await initMap(onMapClick, (m: MLMap) => { if (isExpert()) startEditor(m); });
  if (data) {
    const [proposals, zones] = await data;
    showProposals(proposals);
    showZones(zones);
  }
  renderSide();
  firstRenderMark(theMap(), app);
  // The overdue badge loads after the first render, never before it.
  if (isExpert()) refreshBadge().then(renderSide).catch(() => {});
}

function switchLang() {
  const l: Lang = getLang() === 'zh' ? 'en' : 'zh';
  setLang(l);
  localStorage.setItem('rz.lang', l);
  document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
  if (S.me) { renderTop(switchLang); renderSide(); }
}

function onMapClick(e: MapMouseEvent) {
  if (!isExpert()) return;
  if (S.target && S.tool === 'buildings') { void guard(() => toggleBuilding(e)); return; }
  if (S.target) return;
  const map = theMap();
  const z = map.queryRenderedFeatures(e.point, { layers: ['rz-zones-fill'] })[0];
  if (z) { void guard(() => selectZone(Number(z.properties.zone_id))); return; }
  const p = map.queryRenderedFeatures(e.point, { layers: ['rz-proposals-fill'] })[0];
  if (p) {
    const prop = S.proposals.find((x) => x.id === Number(p.properties.id));
    if (prop) { setTab('proposals'); void selectProposal(prop); }
  }
}

bindKeys({ undo, redo, setTool, save: () => void guard(() => save(inputValue('#editReason'))) });

start().catch((e) => showLogin(String(e)));
