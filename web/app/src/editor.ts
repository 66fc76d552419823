// The zone editor: click buildings in or out, drag vertices or draw with
// snapping (terra-draw), undo and redo, save with a reason (a proposal is
// approved with the edits; a zone gets a new version) and resolve a stale
// version.
import type { MapMouseEvent, Map as MLMap } from 'maplibre-gl';
import type { TerraDraw } from 'terra-draw';
import * as api from './client';
import { ApiError } from './api';
import { t } from './i18n';
import { splitForDraw, joinFromDraw, GeometryError, type Areal, type Position, type Ring } from './geom';
import { geometryReason } from './errors';
import { S, history, clearMsg, setConflict, setSelProposal, setTab, setTarget, setTheirs, setTool as storeTool, updateTarget, type Draft, type Target, type Tool } from './store';
import type { Building } from './api_types';
import { empty, setData, theMap } from './mapview';
import { createDraw, type FinishContext } from './drawing';
import { loadProposals, loadZones, selectZone, showDiff } from './actions';
import { renderSide, say } from './ui';

let draw: TerraDraw | null = null;
/** The editor's terra-draw, for the browser tests. */
export const theDraw = () => draw;
/** snapAt is the snapping at a screen point (for the browser tests), once the editor is started. */
export let snapAt: ((x: number, y: number) => number[] | undefined) | undefined;

/** Building footprints fetched while clicking members in or out, by id. */
const footprints = new Map<number, Building>();
const noDraft = (): Draft => ({ add: [], remove: [], geom: null });

/** startEditor starts terra-draw on the map (experts only). */
export function startEditor(map: MLMap) {
  const made = createDraw(map, (id, ctx) => onDrawFinish(id, ctx));
  draw = made.draw;
  snapAt = made.snapAt;
}

export function beginEdit(tg: Target) {
  setTarget(tg);
  clearMsg();
  history.reset(noDraft());
  setData('rz-delta', empty);
  setData('rz-other', empty);
  loadDrawGeometry(tg.geometry);
  setTool('buildings');
}

export function endEdit() {
  setTarget(null);
  history.reset(noDraft());
  setTool('none');
  draw?.clear();
  setData('rz-delta', empty);
  setData('rz-other', empty);
  renderSide();
}

export function setTool(tool: Tool) {
  if (!S.target && tool !== 'none') return;
  if (tool === 'buildings' && history.state.geom) { say('warn', t('geomFirst')); tool = 'none'; }
  if ((tool === 'vertex' || tool === 'draw' || tool === 'hole') && S.target?.refused) { say('err', S.target.refused); tool = 'none'; }
  storeTool(tool);
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
  theMap().getCanvas().style.cursor = tool === 'buildings' ? 'pointer' : '';
  renderSide();
}

/** toggleBuilding adds or removes the building clicked (an undo step). */
export async function toggleBuilding(e: MapMouseEvent) {
  const tg = S.target;
  if (!tg) return;
  if (history.state.geom) { say('warn', t('geomFirst')); return; }
  const f = theMap().queryRenderedFeatures(e.point, { layers: ['buildings'] })[0];
  if (!f || f.id === undefined) { say('warn', t('notBuilding')); return; }
  const id = Number(f.id);
  const d = history.state;
  let next: Draft;
  if (d.add.includes(id)) next = { ...d, add: d.add.filter((x) => x !== id) };
  else if (d.remove.includes(id)) next = { ...d, remove: d.remove.filter((x) => x !== id) };
  else if (tg.buildingIDs.has(id)) next = { ...d, remove: [...d.remove, id] };
  else next = { ...d, add: [...d.add, id] };
  history.push(next);
  if (!footprints.has(id)) footprints.set(id, await api.app.building(id));
  clearMsg();
  refreshDelta();
  renderSide();
}

function refreshDelta() {
  const d = history.state;
  const feats = [...d.add.map((id) => [id, 'add'] as const), ...d.remove.map((id) => [id, 'remove'] as const)].flatMap(([id, k]) => {
    const f = footprints.get(id);
    return f ? [{ ...f, properties: { ...f.properties, d: k } }] : [];
  });
  setData('rz-delta', { type: 'FeatureCollection', features: feats });
}

export function undo() { if (history.undo() !== undefined) applyHistory(); }
export function redo() { if (history.redo() !== undefined) applyHistory(); }

function applyHistory() {
  const tg = S.target;
  if (!tg) return;
  loadDrawGeometry(history.state.geom ?? tg.geometry);
  refreshDelta();
  if (S.tool === 'vertex') setTool('vertex'); else renderSide();
}

/** loadDrawGeometry puts g in terra-draw's store, for the vertex and draw tools. */
export function loadDrawGeometry(g: Areal) {
  if (!draw) return;
  const mode = draw.getMode();
  draw.setMode('static');
  draw.clear();
  const res = draw.addFeatures(splitForDraw(g));
  const bad = res.filter((r) => !r.valid);
  // A ring terra-draw refuses is not in its store: a boundary saved from the
  // store would silently drop it. Say so and keep the boundary as it is.
  const refused = bad.length ? t('drawRefused', { n: bad.length, total: res.length }) : undefined;
  updateTarget({ refused });
  if (refused) {
    draw.setMode('static');
    if (S.tool === 'vertex' || S.tool === 'draw' || S.tool === 'hole') storeTool('none');
    say('err', refused);
    return;
  }
  if (mode !== 'static') draw.setMode(mode);
}

function drawnGeometry(d: TerraDraw): Areal {
  const ring = (r: number[][]): Ring => r.map((c): Position => [c[0], c[1]]);
  const parts = d.getSnapshot().flatMap((f) => (f.geometry.type === 'Polygon'
    ? [{ geometry: { coordinates: f.geometry.coordinates.map(ring) }, properties: { rzRole: String(f.properties.rzRole ?? '') } }] : []));
  return joinFromDraw(parts);
}

/** onDrawFinish checks the new shape: a valid one becomes an undo step; an
 * invalid one is refused with the reason and the last good shape comes back. */
function onDrawFinish(id: string | number, ctx: FinishContext) {
  const tg = S.target;
  if (!tg || !draw) return;
  if (ctx.mode === 'polygon' && ctx.action === 'draw') {
    draw.updateFeatureProperties(id, { rzRole: S.tool === 'hole' ? 'hole' : 'outer', rzPart: -1 });
  }
  try {
    const g = drawnGeometry(draw);
    history.push({ ...history.state, geom: g });
    clearMsg();
    if (ctx.mode === 'polygon') setTool('vertex'); else renderSide();
  } catch (e) {
    const why = e instanceof GeometryError ? geometryReason(e) : String(e);
    loadDrawGeometry(history.state.geom ?? tg.geometry);
    if (S.tool === 'vertex') setTool('vertex');
    say('err', t('invalid', { why }));
  }
}

/** save writes the edit with reason; a stale zone version shows the conflict. */
export async function save(reason: string) {
  const tg = S.target;
  if (!tg) return;
  if (!reason) { say('err', t('reasonRequired')); return; }
  const d = history.state;
  if (d.geom && tg.refused) { say('err', tg.refused); return; }
  try {
    if (tg.kind === 'proposal') {
      const z = await api.proposals.approve(tg.id, d.geom ? { reason, geometry: d.geom }
        : { reason, add_buildings: d.add.length ? d.add : undefined, remove_buildings: d.remove.length ? d.remove : undefined });
      endEdit();
      setSelProposal(null);
      await loadProposals(); await loadZones(); await selectZone(z.id);
      setTab('zone');
      say('ok', t('accepted', { zone: '#' + z.id }));
      return;
    }
    let z;
    if (d.geom) z = await api.zones.replaceGeometry(tg.id, { version: tg.version, geometry: d.geom, reason });
    else if (d.add.length || d.remove.length) z = await api.zones.editMembers(tg.id, { version: tg.version, reason, add_buildings: d.add.length ? d.add : undefined, remove_buildings: d.remove.length ? d.remove : undefined });
    else return;
    endEdit();
    await loadZones();
    await selectZone(z.id);
    setTab('history');
    await showDiff(z.current_version);
    say('ok', t('saved', { v: z.current_version }));
  } catch (e) {
    const conflict = e instanceof ApiError ? e.conflict : null;
    if (conflict) {
      setConflict({ ...conflict, reason });
      renderSide();
      return;
    }
    throw e;
  }
}

/** showTheirs draws the other version of a conflict beside the edit. */
export async function showTheirs() {
  const tg = S.target;
  if (!tg) return;
  const z = await api.zones.get(tg.id);
  setTheirs(z);
  setData('rz-other', { type: 'FeatureCollection', features: [{ type: 'Feature', geometry: z.current.geometry, properties: {} }] });
  renderSide();
}

/** reapply saves the edit again on the current version. */
export async function reapply() {
  const tg = S.target;
  const reason = S.conflict?.reason ?? '';
  if (!tg) return;
  const z = await api.zones.get(tg.id);
  const members = new Set(z.current.building_ids);
  updateTarget({ version: z.current_version, buildingIDs: members });
  // Member edits that the other version already made are dropped.
  const d = history.state;
  history.push({ ...d, add: d.add.filter((id) => !members.has(id)), remove: d.remove.filter((id) => members.has(id)) });
  setConflict(null);
  await save(reason);
}
