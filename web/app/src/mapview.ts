// The map: created once after sign-in, the app's GeoJSON sources filled
// from the store, the layers panel's choices applied, and the view fitted
// to the county or a shape.
import maplibregl, { type Map as MLMap, type MapMouseEvent, type GeoJSONSource } from 'maplibre-gl';
import type { GeoJSON } from 'geojson';
import { bbox, type Areal } from './geom';
import { zoneFilterExpr } from './zonefilter';
import { layerGroups, layerNames } from './layers';
import { addAppLayers } from './drawing';
import { S } from './store';
import { isExpert } from './ui';

let map: MLMap | undefined;
/** mapLoadMs: from initMap until the style is parsed. */
export const mapTimes = { mapLoadMs: 0 };

/** theMap is the map; it exists once initMap has begun. */
export function theMap(): MLMap {
  if (!map) throw new Error('the map is not started');
  return map;
}
export const hasMap = () => map !== undefined;

export const empty: GeoJSON = { type: 'FeatureCollection', features: [] };

/** setData fills one of the app's sources (nothing before the style is loaded). */
export function setData(src: string, data: GeoJSON) { (map?.getSource(src) as GeoJSONSource | undefined)?.setData(data); }

/** initMap starts the map on the county; onClick gets the clicks, onStyle runs once the style is parsed. */
export async function initMap(onClick: (e: MapMouseEvent) => void, onStyle: (m: MLMap) => void) {
  if (map) return;
  const t0 = performance.now();
  performance.mark('rz-map-start');
  const styleURL = isExpert() ? '/styles/expert.json' : '/styles/public.json';
  // Open on the county itself: the first render is the city, not a view
  // that fitCounty would then replace (a second round of tiles).
  const c = S.counties.find((x) => x.id === S.county);
  const start = c ? { bounds: [[c.bbox[0], c.bbox[1]], [c.bbox[2], c.bbox[3]]] as [[number, number], [number, number]], fitBoundsOptions: { padding: 20 } } : {};
  const m = new maplibregl.Map({ container: 'map', style: styleURL, hash: false, attributionControl: { compact: true }, fadeDuration: 0, ...start });
  map = m;
  m.addControl(new maplibregl.NavigationControl(), 'top-right');
  m.addControl(new maplibregl.ScaleControl({}), 'bottom-right');
  // The app's sources and layers go in as soon as the style is parsed, not
  // at 'load' (after the first complete render): the first frame with
  // tiles then has the zones too, instead of a second round of rendering.
  if (!m.isStyleLoaded()) await new Promise<void>((res) => m.once('style.load', () => res()));
  mapTimes.mapLoadMs = performance.now() - t0;
  performance.mark('rz-style-load');
  addAppLayers(m, empty);
  // Footprints are drawn from z14: at the county overview they are specks,
  // and skipping them keeps the first render fast in a city of a million.
  if (m.getLayer('buildings')) m.setLayerZoomRange('buildings', 14, 24);
  applyLayers();
  fitCounty();
  m.on('click', onClick);
  onStyle(m);
}

/** applyLayers shows the layer groups turned on in the layers panel. */
export function applyLayers() {
  if (!map) return;
  for (const g of layerNames) {
    for (const id of layerGroups[g]) if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', S.layers[g] ? 'visible' : 'none');
  }
  applyZoneFilter();
}

/** applyZoneFilter draws the zones of the levels and statuses chosen in the layers panel. */
export function applyZoneFilter() {
  if (!map) return;
  const f = zoneFilterExpr(S.zoneFilter);
  for (const id of layerGroups.zones) if (map.getLayer(id)) map.setFilter(id, f);
}

export function fitCounty() {
  const c = S.counties.find((x) => x.id === S.county);
  if (c && map) map.fitBounds([[c.bbox[0], c.bbox[1]], [c.bbox[2], c.bbox[3]]], { padding: 20, duration: 0 });
}

export function fitGeom(g: Areal) {
  const b = bbox(g);
  map?.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 80, duration: 0, maxZoom: 17 });
}

/** refreshZoneLayer draws the store's zones, the selected one marked. */
export function refreshZoneLayer() {
  const sel = S.zone?.id;
  const features = (S.zones?.features ?? []).map((f) => ({ ...f, id: f.properties.zone_id, properties: { ...f.properties, sel: f.properties.zone_id === sel } }));
  setData('rz-zones', { type: 'FeatureCollection', features });
}

/** refreshProposalLayer draws the store's proposals, the selected one marked. */
export function refreshProposalLayer() {
  setData('rz-proposals', { type: 'FeatureCollection', features: S.proposals.map((p) => ({ type: 'Feature', id: p.id, geometry: p.geometry, properties: { id: p.id, level: p.level, sel: S.selProposal?.id === p.id } })) });
}

/** refreshPublished reloads the published zones' tiles after a publication. */
export function refreshPublished() { if (map?.getSource('riskzone')) map.refreshTiles?.('riskzone'); }
