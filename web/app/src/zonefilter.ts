// Which zones the map draws: by level and by status (the layers panel).
import type { FilterSpecification } from 'maplibre-gl';

export const zoneLevels = ['high', 'medium', 'low'] as const;
export const zoneStatuses = ['active', 'lifted', 'superseded'] as const;

export interface ZoneFilter { levels: Record<string, boolean>; statuses: Record<string, boolean> }

/** defaultZoneFilter shows zones of every level that are in force (active). */
export function defaultZoneFilter(): ZoneFilter {
  return { levels: { high: true, medium: true, low: true }, statuses: { active: true, lifted: false, superseded: false } };
}

const chosen = (m: Record<string, boolean>) => Object.keys(m).filter((k) => m[k]);

/** zoneFilterExpr is the MapLibre filter drawing the chosen levels and statuses. */
export function zoneFilterExpr(f: ZoneFilter): FilterSpecification {
  return ['all', ['in', ['get', 'level'], ['literal', chosen(f.levels)]], ['in', ['get', 'status'], ['literal', chosen(f.statuses)]]];
}

/** zoneStatusQuery is the status parameter of /api/v1/zones the chosen
 * statuses need: '' for the API's default (active zones only), else 'all'
 * (the map filter then picks). */
export function zoneStatusQuery(f: ZoneFilter): string {
  const s = chosen(f.statuses);
  return s.length === 1 && s[0] === 'active' ? '' : 'all';
}
