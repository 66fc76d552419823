// The expert web app: review proposals, edit zones (click buildings; drag
// vertices or draw with snapping), see versions and diffs, record
// screenings, lift, and publish with a preview of the notice, CAP and Atom.
import maplibregl, { type Map as MLMap, type MapMouseEvent, type GeoJSONSource } from 'maplibre-gl';
import type { TerraDraw } from 'terra-draw';
import { api, ApiError, setCSRF } from './api';
import { t, setLang, getLang, type Lang } from './i18n';
import { splitForDraw, joinFromDraw, GeometryError, bbox, type Areal } from './geom';
import { errorText, geometryReason } from './errors';
import { zoneFilterExpr, zoneStatusQuery } from './zonefilter';
import { S, history, footprints, $, esc, role, isExpert, tabs, toast, type Me, type County, type Target, type Tab, type Tool, type Draft } from './state';
import { proposalsPanel } from './panel_proposals';
import { zonePanel } from './panel_zone';
import { historyPanel, layersPanel, publishPanel, layerGroups } from './panels';
import { addAppLayers, createDraw, firstRenderMark } from './drawing';
import { loginForm } from './login';
import { bindKeys } from './keys';
import { searchCounty } from './search';
import { readScreening } from './screening';
import 'maplibre-gl/dist/maplibre-gl.css';
import './style.css';

let map: MLMap;
let draw: TerraDraw | null = null;
// firstRender: ms from navigation start to the first frame with the app's
// layers filled (the zones for experts), also as the performance mark
// rz-first-render; mapLoadMs: from initMap until the style is parsed.
const app = { S, history, get map() { return map; }, get draw() { return draw; }, firstRender: 0, mapLoadMs: 0, ready: false,
  loadDrawGeometry: (g: Areal) => loadDrawGeometry(g) };
(window as any).rzApp = app;

function setMsg(kind: 'ok' | 'err' | 'warn', text: string) { S.msg = { kind, text }; renderSide(); }

async function guard(fn: () => Promise<void>) {
  try {
    S.busy = true;
    await fn();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) { showLogin(); return; }
    setMsg('err', errorText(e));
  } finally {
    S.busy = false;
  }
}

// ---- start and login --------------------------------------------------------

async function start() {
  const saved = localStorage.getItem('rz.lang');
  setLang(saved === 'en' ? 'en' : 'zh');
  const me = await api<Me>('GET', '/api/v1/auth/me');
  if (!me.user || !['expert', 'publisher', 'admin'].includes(me.role)) { showLogin(); return; }
  await signedIn(me);
}

function showLogin(err = '') {
  loginForm(err, { lang: () => { switchLang(); showLogin(err); }, retry: showLogin, signedIn });
}

async function signedIn(me: Me) {
  S.me = me;
  setCSRF(me.csrf_token ?? '');
  $('#login').hidden = true;
  $('#login').innerHTML = '';
  S.tab = isExpert() ? 'proposals' : 'publish';
  // Experts see every active zone from the zones API; publishers, who may
  // not read it, the published zones of the tiles.
  S.layers.published = !isExpert();
  const { counties } = await api<{ counties: County[] }>('GET', '/api/v1/app/counties');
  S.counties = counties;
  const fromURL = Number(new URLSearchParams(location.search).get('county'));
  S.county = counties.find((c) => c.id === fromURL)?.id ?? counties[0]?.id ?? 0;
  renderTop();
  renderSide();
  // The proposals and zones load while the map starts (not after it).
  const data = isExpert() ? Promise.all([fetchProposals(), fetchZones()]) : null;
  data?.catch(() => {}); // awaited below; not an unhandled rejection if initMap fails first
  await initMap();
  if (data) {
    const [proposals, zones] = await data;
    showProposals(proposals);
    showZones(zones);
  }
  renderSide();
  markFirstRender();
}

function markFirstRender() { firstRenderMark(map, app); }

function switchLang() {
  const l: Lang = getLang() === 'zh' ? 'en' : 'zh';
  setLang(l);
  localStorage.setItem('rz.lang', l);
  document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
  if (S.me) { renderTop(); renderSide(); }
}

// ---- top bar ----------------------------------------------------------------

function renderTop() {
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
    S.county = Number((e.target as HTMLSelectElement).value);
    fitCounty();
    S.preview = null;
    if (isExpert()) await guard(async () => { await loadProposals(); await loadZones(); });
    renderSide();
  };
  $('#lang').onclick = switchLang;
  $('#logout').onclick = async () => { await api('POST', '/api/v1/auth/logout').catch(() => {}); location.reload(); };
  const input = $<HTMLInputElement>('#search');
  let timer = 0;
  input.oninput = () => { clearTimeout(timer); timer = window.setTimeout(() => search(input.value), 250); };
  if (isExpert()) {
    $<HTMLInputElement>('#asof').onchange = async (e) => { S.asOf = (e.target as HTMLInputElement).value; await guard(loadZones); };
    $('#asofNow').onclick = async () => { S.asOf = ''; renderTop(); await guard(loadZones); };
  }
}

async function search(q: string) {
  await searchCounty(q, guard, (f) => {
    setData('rz-search', { type: 'FeatureCollection', features: [f] });
    map.flyTo({ center: f.properties.center, zoom: 17 });
  });
}

// ---- side panel -------------------------------------------------------------

function renderSide() {
  const side = $('#side');
  const msg = S.msg ? `<div class="msg ${S.msg.kind}" role="alert" data-testid="msg">${esc(S.msg.text)}</div>` : '';
  let body = '';
  switch (S.tab) {
    case 'proposals': body = proposalsPanel(); break;
    case 'zone': body = zonePanel(); break;
    case 'history': body = historyPanel(); break;
    case 'layers': body = layersPanel(); break;
    case 'publish': body = publishPanel(); break;
  }
  side.innerHTML = `<nav class="tabs" role="tablist">${tabs().map((x) => `<button role="tab" data-tab="${x}" aria-selected="${x === S.tab}">${esc(t('tab.' + x))}</button>`).join('')}</nav>
    <section class="panel">${msg}${body}</section><div class="kbd">${esc(t('shortcuts'))}</div>`;
  side.querySelectorAll<HTMLButtonElement>('[data-tab]').forEach((b) => (b.onclick = () => { S.tab = b.dataset.tab as Tab; S.msg = null; renderSide(); }));
  bindSide(side);
}

function bindSide(side: HTMLElement) {
  const on = (sel: string, fn: (el: HTMLElement) => void) => side.querySelectorAll<HTMLElement>(sel).forEach((el) => (el.onclick = () => fn(el)));
  const val = (id: string) => (side.querySelector<HTMLInputElement>('#' + id)?.value ?? '').trim();
  on('#run', () => guard(runEngine));
  on('[data-proposal]', (el) => {
    const p = S.proposals.find((x) => x.id === Number(el.dataset.proposal));
    if (p && S.selProposal?.id !== p.id) selectProposal(p);
  });
  on('[data-act="accept"]', () => guard(async () => {
    const reason = val('decisionReason') || 'accepted as proposed';
    const z = await api('POST', `/api/v1/proposals/${S.selProposal.id}/approve`, { reason });
    toast(t('accepted', { zone: '#' + z.id }));
    S.selProposal = null;
    await loadProposals(); await loadZones();
    await selectZone(z.id);
    S.tab = 'zone';
    setMsg('ok', t('accepted', { zone: '#' + z.id }));
  }));
  on('[data-act="reject"]', () => guard(async () => {
    const reason = val('decisionReason');
    if (!reason) { setMsg('err', t('reasonRequired')); return; }
    await api('POST', `/api/v1/proposals/${S.selProposal.id}/reject`, { reason });
    S.selProposal = null;
    await loadProposals();
    setMsg('ok', t('rejected'));
  }));
  // Enlarge or shrink one level: the new proposal supersedes the selected one.
  for (const dir of ['enlarge', 'shrink'] as const) on(`[data-act="${dir}"]`, () => guard(async () => {
    const old = S.selProposal.id;
    const res = await api('POST', `/api/v1/proposals/${old}/${dir}`, { reason: val('decisionReason') });
    const ids = (res.proposals || []).map((p: any) => p.id);
    await loadProposals();
    const next = S.proposals.find((x) => x.id === ids[0]);
    if (next) selectProposal(next);
    setMsg('ok', t('stepped', { ids: ids.map((i: number) => '#' + i).join(', '), old }));
  }));
  on('[data-act="editaccept"]', () => {
    const p = S.selProposal;
    beginEdit({ kind: 'proposal', id: p.id, version: 0, name: p.name, buildingIDs: new Set(p.building_ids ?? []), geometry: p.geometry });
  });
  on('[data-zone]', (el) => guard(() => selectZone(Number(el.dataset.zone))));
  on('#startEdit', () => {
    const z = S.zone;
    beginEdit({ kind: 'zone', id: z.id, version: z.current_version, name: z.current.name, buildingIDs: new Set(z.current.building_ids), geometry: z.current.geometry });
  });
  on('[data-tool]', (el) => setTool(el.dataset.tool as Tool));
  on('#undo', () => undo());
  on('#redo', () => redo());
  on('#save', () => guard(() => save(val('editReason'))));
  on('#cancelEdit', () => endEdit());
  on('#theirs', () => guard(showTheirs));
  on('#reapply', () => guard(reapply));
  on('[data-version]', (el) => guard(() => showDiff(Number(el.dataset.version))));
  on('#recordScreening', () => guard(async () => {
    const form = readScreening({ date: val('scrDate'), tested: val('scrTested'), negatives: val('scrNeg'), positives: val('scrPos') });
    if ('error' in form) { setMsg('err', t(form.error)); return; }
    const res = await api('POST', `/api/v1/zones/${S.zone.id}/screenings`, form.body);
    S.lifting = res.lifting;
    setMsg('ok', t('recorded'));
  }));
  on('#lift', () => guard(async () => {
    const reason = val('liftReason');
    if (!reason) { setMsg('err', t('reasonRequired')); return; }
    await api('POST', `/api/v1/zones/${S.zone.id}/lift`, { reason, version: S.zone.current_version });
    await loadZones(); await selectZone(S.zone.id);
    setMsg('ok', t('lifted'));
  }));
  on('#preview', () => guard(async () => {
    S.preview = await api('GET', `/api/v1/app/notice-preview?county=${S.county}`);
    S.publishResult = null;
    S.msg = null;
    renderSide();
  }));
  on('#publishNow', () => guard(async () => {
    const reason = val('pubReason');
    const res = await api('POST', '/api/v1/notices', { county_id: S.county, reason: reason || undefined });
    S.publishResult = res.notices;
    S.preview = null;
    S.msg = null;
    renderSide();
    if (map.getSource('riskzone')) map.refreshTiles?.('riskzone');
  }));
  side.querySelectorAll<HTMLInputElement>('[data-layer]').forEach((cb) => (cb.onchange = () => { S.layers[cb.dataset.layer!] = cb.checked; applyLayers(); }));
  side.querySelectorAll<HTMLInputElement>('[data-zlevel]').forEach((cb) => (cb.onchange = () => { S.zoneFilter.levels[cb.dataset.zlevel!] = cb.checked; applyZoneFilter(); }));
  side.querySelectorAll<HTMLInputElement>('[data-zstatus]').forEach((cb) => (cb.onchange = () => guard(async () => {
    const before = zoneStatusQuery(S.zoneFilter);
    S.zoneFilter.statuses[cb.dataset.zstatus!] = cb.checked;
    // Zones that are not in force come from the API only when asked for.
    if (zoneStatusQuery(S.zoneFilter) !== before) await loadZones();
    applyZoneFilter();
  })));
}

// ---- map --------------------------------------------------------------------

const empty = { type: 'FeatureCollection', features: [] as any[] };
function setData(src: string, data: any) { (map.getSource(src) as GeoJSONSource | undefined)?.setData(data); }

async function initMap() {
  if (map) return;
  const t0 = performance.now();
  performance.mark('rz-map-start');
  const styleURL = isExpert() ? '/styles/expert.json' : '/styles/public.json';
  // Open on the county itself: the first render is the city, not a view
  // that fitCounty would then replace (a second round of tiles).
  const c = S.counties.find((x) => x.id === S.county);
  const start = c ? { bounds: [[c.bbox[0], c.bbox[1]], [c.bbox[2], c.bbox[3]]] as [[number, number], [number, number]], fitBoundsOptions: { padding: 20 } } : {};
  map = new maplibregl.Map({ container: 'map', style: styleURL, hash: false, attributionControl: { compact: true }, fadeDuration: 0, ...start });
  map.addControl(new maplibregl.NavigationControl(), 'top-right');
  map.addControl(new maplibregl.ScaleControl({}), 'bottom-right');
  // The app's sources and layers go in as soon as the style is parsed, not
  // at 'load' (after the first complete render): the first frame with
  // tiles then has the zones too, instead of a second round of rendering.
  if (!map.isStyleLoaded()) await new Promise<void>((res) => map.once('style.load', () => res()));
  app.mapLoadMs = performance.now() - t0;
  performance.mark('rz-style-load');
  addAppLayers(map, empty);
  // Footprints are drawn from z14: at the county overview they are specks,
  // and skipping them keeps the first render fast in a city of a million.
  if (map.getLayer('buildings')) map.setLayerZoomRange('buildings', 14, 24);
  applyLayers();
  fitCounty();
  map.on('click', onMapClick);
  if (isExpert()) initDraw();
}

function applyLayers() {
  if (!map) return;
  for (const [g, ids] of Object.entries(layerGroups)) {
    for (const id of ids) if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', S.layers[g] ? 'visible' : 'none');
  }
  applyZoneFilter();
}

/** applyZoneFilter draws the zones of the levels and statuses chosen in the layers panel. */
function applyZoneFilter() {
  if (!map) return;
  for (const id of layerGroups.zones) if (map.getLayer(id)) map.setFilter(id, zoneFilterExpr(S.zoneFilter) as any);
}

function fitCounty() {
  const c = S.counties.find((x) => x.id === S.county);
  if (c && map) map.fitBounds([[c.bbox[0], c.bbox[1]], [c.bbox[2], c.bbox[3]]], { padding: 20, duration: 0 });
}

function fitGeom(g: Areal) {
  const b = bbox(g);
  map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 80, duration: 0, maxZoom: 17 });
}

async function loadZones() { showZones(await fetchZones()); }
function fetchZones(): Promise<any> {
  const st = zoneStatusQuery(S.zoneFilter);
  const q = S.asOf ? `&at=${encodeURIComponent(new Date(S.asOf).toISOString())}` : st ? `&status=${st}` : '';
  return api('GET', `/api/v1/zones?county=${S.county}${q}`);
}
function showZones(fc: any) {
  (window as any).rzZones = fc;
  refreshZoneLayer();
}

function refreshZoneLayer() {
  const fc = (window as any).rzZones ?? empty;
  const sel = S.zone?.id;
  setData('rz-zones', { type: 'FeatureCollection', features: fc.features.map((f: any) => ({ ...f, id: f.properties.zone_id, properties: { ...f.properties, sel: f.properties.zone_id === sel } })) });
}

async function loadProposals() { showProposals(await fetchProposals()); }
async function fetchProposals(): Promise<any[]> {
  return (await api('GET', `/api/v1/app/proposals?county=${S.county}`)).proposals;
}
function showProposals(proposals: any[]) {
  S.proposals = proposals;
  refreshProposalLayer();
}

function refreshProposalLayer() {
  setData('rz-proposals', { type: 'FeatureCollection', features: S.proposals.map((p) => ({ type: 'Feature', id: p.id, geometry: p.geometry, properties: { id: p.id, level: p.level, sel: S.selProposal?.id === p.id } })) });
}

async function runEngine() {
  const at = ($<HTMLInputElement>('#runAt').value || '').trim();
  const raw = ($<HTMLTextAreaElement>('#runParams').value || '').trim();
  let params: any = undefined;
  if (raw) {
    try { params = JSON.parse(raw); } catch (e) { setMsg('err', `${t('params')}: ${(e as Error).message}`); return; }
  }
  S.runInfo = 'running';
  renderSide();
  const body: any = { county_id: S.county };
  if (at) body.at = new Date(at).toISOString();
  if (params) body.params = params;
  const fc = await api('POST', '/api/v1/proposals', body);
  const n = fc.features.filter((f: any) => f.properties.kind === 'proposal').length;
  const { runs } = await api('GET', `/api/v1/app/runs?county=${S.county}`);
  S.runInfo = { run: runs[0]?.id ?? '?', n };
  await loadProposals();
  renderSide();
}

async function selectProposal(p: any) {
  S.selProposal = p;
  refreshProposalLayer();
  fitGeom(p.geometry);
  renderSide();
  await guard(async () => setData('rz-barriers', await api('GET', `/api/v1/app/proposals/${p.id}/barriers`)));
}

async function selectZone(id: number) {
  if (S.target) endEdit();
  const [z, lifting, versions] = await Promise.all([
    api('GET', `/api/v1/zones/${id}`), api('GET', `/api/v1/zones/${id}/lifting`).catch(() => null), api('GET', `/api/v1/zones/${id}/versions`),
  ]);
  S.zone = z; S.lifting = lifting; S.versions = versions.versions; S.diff = null;
  setData('rz-delta', empty);
  setData('rz-barriers', empty);
  refreshZoneLayer();
  fitGeom(z.current.geometry);
  if (S.tab === 'proposals') S.tab = 'zone';
  renderSide();
}

function onMapClick(e: MapMouseEvent) {
  if (!isExpert()) return;
  if (S.target && S.tool === 'buildings') { void guard(() => toggleBuilding(e)); return; }
  if (S.target) return;
  const z = map.queryRenderedFeatures(e.point, { layers: ['rz-zones-fill'] })[0];
  if (z) { void guard(() => selectZone(Number(z.properties.zone_id))); return; }
  const p = map.queryRenderedFeatures(e.point, { layers: ['rz-proposals-fill'] })[0];
  if (p) {
    const prop = S.proposals.find((x) => x.id === Number(p.properties.id));
    if (prop) { S.tab = 'proposals'; void selectProposal(prop); }
  }
}

// ---- editing ------------------------------------------------------------------

function beginEdit(tg: Target) {
  S.target = tg;
  S.conflict = null;
  S.msg = null;
  history.reset({ add: [], remove: [], geom: null });
  setData('rz-delta', empty);
  setData('rz-other', empty);
  loadDrawGeometry(tg.geometry);
  setTool('buildings');
}

function endEdit() {
  S.target = null;
  S.conflict = null;
  history.reset({ add: [], remove: [], geom: null });
  setTool('none');
  draw?.clear();
  setData('rz-delta', empty);
  setData('rz-other', empty);
  renderSide();
}

function setTool(tool: Tool) {
  if (!S.target && tool !== 'none') return;
  if (tool === 'buildings' && history.state.geom) { setMsg('warn', t('geomFirst')); tool = 'none'; }
  if ((tool === 'vertex' || tool === 'draw' || tool === 'hole') && S.target?.refused) { setMsg('err', S.target.refused); tool = 'none'; }
  S.tool = tool;
  if (draw) {
    if (tool === 'vertex') {
      draw.setMode('select');
      const first = draw.getSnapshot().find((f) => f.properties?.rzRole === 'outer');
      if (first?.id !== undefined) draw.selectFeature(first.id);
    } else if (tool === 'draw' || tool === 'hole') {
      draw.setMode('polygon');
    } else {
      draw.setMode('static');
    }
  }
  map.getCanvas().style.cursor = tool === 'buildings' ? 'pointer' : '';
  renderSide();
}

async function toggleBuilding(e: MapMouseEvent) {
  const tg = S.target!;
  if (history.state.geom) { setMsg('warn', t('geomFirst')); return; }
  const f = map.queryRenderedFeatures(e.point, { layers: ['buildings'] })[0];
  if (!f || f.id === undefined) { setMsg('warn', t('notBuilding')); return; }
  const id = Number(f.id);
  const d = history.state;
  let next: Draft;
  if (d.add.includes(id)) next = { ...d, add: d.add.filter((x) => x !== id) };
  else if (d.remove.includes(id)) next = { ...d, remove: d.remove.filter((x) => x !== id) };
  else if (tg.buildingIDs.has(id)) next = { ...d, remove: [...d.remove, id] };
  else next = { ...d, add: [...d.add, id] };
  history.push(next);
  if (!footprints.has(id)) footprints.set(id, await api('GET', `/api/v1/app/buildings/${id}`));
  S.msg = null;
  refreshDelta();
  renderSide();
}

function refreshDelta() {
  const d = history.state;
  const feats = [...d.add.map((id) => [id, 'add'] as const), ...d.remove.map((id) => [id, 'remove'] as const)]
    .filter(([id]) => footprints.has(id)).map(([id, k]) => ({ ...footprints.get(id), properties: { ...footprints.get(id).properties, d: k } }));
  setData('rz-delta', { type: 'FeatureCollection', features: feats });
}

function undo() { if (history.undo() !== undefined) applyHistory(); }
function redo() { if (history.redo() !== undefined) applyHistory(); }

function applyHistory() {
  loadDrawGeometry(history.state.geom ?? S.target!.geometry);
  refreshDelta();
  if (S.tool === 'vertex') setTool('vertex'); else renderSide();
}

function loadDrawGeometry(g: Areal) {
  if (!draw) return;
  const mode = draw.getMode();
  draw.setMode('static');
  draw.clear();
  const res = draw.addFeatures(splitForDraw(g) as any);
  const bad = res.filter((r) => !r.valid);
  // A ring terra-draw refuses is not in its store: a boundary saved from the
  // store would silently drop it. Say so and keep the boundary as it is.
  if (S.target) S.target.refused = bad.length ? t('drawRefused', { n: bad.length, total: res.length }) : undefined;
  if (bad.length) {
    draw.setMode('static');
    if (S.tool === 'vertex' || S.tool === 'draw' || S.tool === 'hole') S.tool = 'none';
    setMsg('err', S.target!.refused!);
    return;
  }
  if (mode !== 'static') draw.setMode(mode);
}

function drawnGeometry(): Areal {
  const feats = draw!.getSnapshot().filter((f) => f.geometry.type === 'Polygon') as any[];
  return joinFromDraw(feats);
}

/** onDrawFinish checks the new shape: a valid one becomes an undo step; an
 * invalid one is refused with the reason and the last good shape comes back. */
function onDrawFinish(id: string | number, ctx: { action: string; mode: string }) {
  if (!S.target) return;
  if (ctx.mode === 'polygon' && ctx.action === 'draw') {
    draw!.updateFeatureProperties(id, { rzRole: S.tool === 'hole' ? 'hole' : 'outer', rzPart: -1 });
  }
  try {
    const g = drawnGeometry();
    history.push({ ...history.state, geom: g });
    S.msg = null;
    if (ctx.mode === 'polygon') setTool('vertex'); else renderSide();
  } catch (e) {
    const why = e instanceof GeometryError ? geometryReason(e) : String(e);
    loadDrawGeometry(history.state.geom ?? S.target.geometry);
    if (S.tool === 'vertex') setTool('vertex');
    setMsg('err', t('invalid', { why }));
  }
}

function initDraw() {
  const made = createDraw(map, (id, ctx) => onDrawFinish(id, ctx));
  draw = made.draw;
  (app as any).snapAt = made.snapAt;
}

async function save(reason: string) {
  const tg = S.target!;
  if (!reason) { setMsg('err', t('reasonRequired')); return; }
  const d = history.state;
  if (d.geom && tg.refused) { setMsg('err', tg.refused); return; }
  try {
    if (tg.kind === 'proposal') {
      const body: any = { reason };
      if (d.geom) body.geometry = d.geom; else { if (d.add.length) body.add_buildings = d.add; if (d.remove.length) body.remove_buildings = d.remove; }
      const z = await api('POST', `/api/v1/proposals/${tg.id}/approve`, body);
      endEdit();
      S.selProposal = null;
      await loadProposals(); await loadZones(); await selectZone(z.id);
      S.tab = 'zone';
      setMsg('ok', t('accepted', { zone: '#' + z.id }));
      return;
    }
    let z: any;
    if (d.geom) z = await api('PUT', `/api/v1/zones/${tg.id}/geometry`, { version: tg.version, geometry: d.geom, reason });
    else if (d.add.length || d.remove.length) z = await api('PATCH', `/api/v1/zones/${tg.id}/members`, { version: tg.version, reason, add_buildings: d.add.length ? d.add : undefined, remove_buildings: d.remove.length ? d.remove : undefined });
    else return;
    endEdit();
    await loadZones();
    await selectZone(z.id);
    S.tab = 'history';
    await showDiff(z.current_version);
    setMsg('ok', t('saved', { v: z.current_version }));
  } catch (e) {
    if (e instanceof ApiError && e.status === 409 && e.body?.current_version) {
      S.conflict = { ...e.body, reason };
      renderSide();
      return;
    }
    throw e;
  }
}

async function showTheirs() {
  const z = await api('GET', `/api/v1/zones/${S.target!.id}`);
  S.conflict.theirs = z;
  setData('rz-other', { type: 'FeatureCollection', features: [{ type: 'Feature', geometry: z.current.geometry, properties: {} }] });
  renderSide();
}

async function reapply() {
  const tg = S.target!;
  const z = await api('GET', `/api/v1/zones/${tg.id}`);
  const reason = S.conflict.reason;
  tg.version = z.current_version;
  tg.buildingIDs = new Set(z.current.building_ids);
  // Member edits that the other version already made are dropped.
  const d = history.state;
  history.push({ ...d, add: d.add.filter((id) => !tg.buildingIDs.has(id)), remove: d.remove.filter((id) => tg.buildingIDs.has(id)) });
  S.conflict = null;
  await save(reason);
}

async function showDiff(version: number) {
  const z = S.zone;
  if (version < 2) { S.diff = null; setData('rz-delta', empty); renderSide(); return; }
  const d = await api('GET', `/api/v1/zones/${z.id}/diff?from=${version - 1}&to=${version}`);
  S.diff = d;
  const ids = [...d.buildings_added, ...d.buildings_removed];
  if (ids.length) {
    const fc = await api('GET', `/api/v1/app/buildings?ids=${ids.join(',')}`);
    const added = new Set(d.buildings_added);
    setData('rz-delta', { type: 'FeatureCollection', features: fc.features.map((f: any) => ({ ...f, properties: { ...f.properties, d: added.has(f.id) ? 'add' : 'remove' } })) });
  } else setData('rz-delta', empty);
  S.tab = 'history';
  renderSide();
}

// ---- keyboard -------------------------------------------------------------------

bindKeys({ undo, redo, setTool, save: () => void guard(() => save(($<HTMLInputElement>('#editReason')?.value ?? '').trim())) });

start().catch((e) => showLogin(String(e)));
