// The expert map's own sources and layers, and terra-draw with snapping to
// building vertices and barrier lines (moved out of main.ts whole).
import type { Map as MLMap, ExpressionSpecification, GeoJSONSourceSpecification } from 'maplibre-gl';
import { TerraDraw, TerraDrawPolygonMode, TerraDrawSelectMode, type TerraDrawMouseEvent } from 'terra-draw';
import { TerraDrawMapLibreGLAdapter } from 'terra-draw-maplibre-gl-adapter';
import { snap, type Pt } from './snap';
import { layerGroups, barrierKinds } from './layers';

/** What terra-draw says of a finished shape (its OnFinishContext). */
export interface FinishContext { action: string; mode: string }

/** addAppLayers adds the app's GeoJSON sources (empty) and their layers. */
export function addAppLayers(map: MLMap, empty: GeoJSONSourceSpecification['data']) {
  const level: ExpressionSpecification = ['match', ['get', 'level'], 'high', '#d7301f', 'medium', '#fc8d59', '#fdcc8a'];
  for (const s of ['rz-zones', 'rz-proposals', 'rz-barriers', 'rz-delta', 'rz-other', 'rz-search', 'rz-sites', 'rz-entrances']) map.addSource(s, { type: 'geojson', data: empty });
  map.addLayer({ id: 'rz-proposals-fill', type: 'fill', source: 'rz-proposals', paint: { 'fill-color': '#6a51a3', 'fill-opacity': ['case', ['boolean', ['get', 'sel'], false], 0.3, 0.12] } });
  map.addLayer({ id: 'rz-proposals-line', type: 'line', source: 'rz-proposals', paint: { 'line-color': '#6a51a3', 'line-width': ['case', ['boolean', ['get', 'sel'], false], 3, 1.5], 'line-dasharray': [2, 1] } });
  map.addLayer({ id: 'rz-zones-fill', type: 'fill', source: 'rz-zones', paint: { 'fill-color': level, 'fill-opacity': 0.3 } });
  map.addLayer({ id: 'rz-zones-line', type: 'line', source: 'rz-zones', paint: { 'line-color': ['case', ['boolean', ['get', 'sel'], false], '#1d4ed8', level], 'line-width': ['case', ['boolean', ['get', 'sel'], false], 3.5, 2] } });
  map.addLayer({ id: 'rz-barriers-line', type: 'line', source: 'rz-barriers', paint: { 'line-color': '#f97316', 'line-width': 5, 'line-opacity': 0.85 } });
  map.addLayer({ id: 'rz-delta-fill', type: 'fill', source: 'rz-delta', paint: { 'fill-color': ['match', ['get', 'd'], 'add', '#16a34a', '#dc2626'], 'fill-opacity': 0.75 } });
  map.addLayer({ id: 'rz-delta-line', type: 'line', source: 'rz-delta', paint: { 'line-color': ['match', ['get', 'd'], 'add', '#14532d', '#7f1d1d'], 'line-width': 1.5 } });
  map.addLayer({ id: 'rz-other-line', type: 'line', source: 'rz-other', paint: { 'line-color': '#ea580c', 'line-width': 3, 'line-dasharray': [1, 1] } });
  map.addLayer({ id: 'rz-search-line', type: 'line', source: 'rz-search', paint: { 'line-color': '#0ea5e9', 'line-width': 4 } });
  // The closed-loop panel's quarantine sites (blue, larger when rooms are free) and a zone's compound entrances (green open, black closed).
  map.addLayer({ id: 'rz-sites', type: 'circle', source: 'rz-sites', paint: { 'circle-color': '#2563eb', 'circle-radius': ['case', ['>', ['get', 'free'], 0], 7, 4], 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 } });
  map.addLayer({ id: 'rz-entrances', type: 'circle', source: 'rz-entrances', paint: { 'circle-color': ['match', ['get', 'state'], 'open', '#16a34a', '#111827'], 'circle-radius': 5, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1 } });
}

/** createDraw starts terra-draw on the map, snapping within 12 px; onFinish
 * gets each finished shape; snapAt is the snapping, for the browser tests. */
export function createDraw(map: MLMap, onFinish: (id: string | number, ctx: FinishContext) => void) {
  const snapFn = (ev: TerraDrawMouseEvent) => {
    const tol = 12;
    const p: Pt = [ev.containerX, ev.containerY];
    const box: [[number, number], [number, number]] = [[p[0] - tol, p[1] - tol], [p[0] + tol, p[1] + tol]];
    const vertices: Pt[] = [];
    const lines: Pt[][] = [];
    const proj = (c: number[]): Pt => { const q = map.project(c as [number, number]); return [q.x, q.y]; };
    for (const f of map.queryRenderedFeatures(box, { layers: ['buildings'] })) {
      const g = f.geometry;
      const polys = g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : [];
      for (const poly of polys) for (const ring of poly) for (const c of ring) vertices.push(proj(c));
    }
    const barrierLayers = barrierKinds.flatMap((k) => layerGroups[k]).filter((id) => map.getLayer(id));
    for (const f of map.queryRenderedFeatures(box, { layers: barrierLayers })) {
      const g = f.geometry;
      const ls = g.type === 'LineString' ? [g.coordinates] : g.type === 'MultiLineString' ? g.coordinates : g.type === 'Polygon' ? g.coordinates : [];
      for (const l of ls) lines.push(l.map(proj));
    }
    const s = snap(p, vertices, lines, tol);
    if (!s) return undefined;
    const ll = map.unproject(s.point as [number, number]);
    return [Math.round(ll.lng * 1e6) / 1e6, Math.round(ll.lat * 1e6) / 1e6];
  };
  const polygonFlags = {
    feature: {
      draggable: false,
      coordinates: { draggable: true, midpoints: true, deletable: true, snappable: { toCustom: snapFn } },
    },
  };
  const draw = new TerraDraw({
    adapter: new TerraDrawMapLibreGLAdapter({ map, coordinatePrecision: 6 }),
    modes: [
      new TerraDrawSelectMode({ flags: { polygon: polygonFlags }, keyEvents: null }),
      new TerraDrawPolygonMode({ snapping: { toCustom: snapFn }, keyEvents: null }),
    ],
  });
  draw.start();
  draw.setMode('static');
  draw.on('finish', (id, ctx) => onFinish(id, ctx));
  return { draw, snapAt: (x: number, y: number) => snapFn({ containerX: x, containerY: y } as TerraDrawMouseEvent) };
}

/** firstRenderMark records the first frame after the app's own layers got
 * their data (the zones for experts): performance.now() is the time since
 * navigation start, so a reload with a session measures the whole first
 * render (HTML, scripts, style, tiles, API, drawing). */
export function firstRenderMark(map: MLMap, app: { ready: boolean; firstRender: number }) {
  if (app.ready) return;
  map.once('idle', () => {
    performance.mark('rz-first-render');
    app.firstRender = performance.now();
    app.ready = true;
    document.body.dataset.ready = 'true';
  });
  map.triggerRepaint();
}
