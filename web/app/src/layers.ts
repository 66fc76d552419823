// The map layers the layers panel turns on and off, by group: the style's
// layer ids of each group, the barrier groups (snapping targets) and the
// legend colours.
import type { LayerName } from './store';

export const layerGroups: Record<LayerName, string[]> = {
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
/** The layer groups in their panel order. */
export const layerNames = Object.keys(layerGroups) as LayerName[];
/** isLayerName tells a layer group's name (from a data-layer attribute) from any other string. */
export const isLayerName = (s: string | undefined): s is LayerName => s !== undefined && s in layerGroups;
// the layer groups that are barriers (snapping targets)
export const barrierKinds: LayerName[] = ['roads', 'water', 'railways', 'ridges', 'walls'];
export const legendColors: Record<LayerName, string> = {
  zones: '#d7301f', published: '#fc8d59', proposals: '#6a51a3', buildings: '#ddd6cf', roads: '#f9d88a', water: '#9ecae1', railways: '#636363', ridges: '#8c6d31', walls: '#969696', admin: '#54278f', spread: '#fb6a4a', cases: '#cb181d',
};
