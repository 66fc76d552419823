// What several panels and the map do: load the county's proposals and
// zones, select a proposal or a zone, and show the diff of a version.
import * as api from './client';
import { zoneStatusQuery } from './zonefilter';
import { S, setDiff, setProposals, setSelProposal, setTab, setZone, setZones } from './store';
import type { Proposal, ZoneCollection } from './api_types';
import { empty, fitGeom, refreshProposalLayer, refreshZoneLayer, setData } from './mapview';
import { endEdit } from './editor';
import { guard, renderSide } from './ui';

declare global {
  interface Window {
    /** The zones on the map, for the browser tests (web/e2e). */
    rzZones?: ZoneCollection;
  }
}

export function fetchZones(): Promise<ZoneCollection> {
  const status = zoneStatusQuery(S.zoneFilter);
  return api.zones.list({ county: S.county, at: S.asOf ? new Date(S.asOf).toISOString() : undefined, status });
}
export function showZones(fc: ZoneCollection) {
  setZones(fc);
  window.rzZones = fc;
  refreshZoneLayer();
}
export async function loadZones() { showZones(await fetchZones()); }

export async function fetchProposals(): Promise<Proposal[]> { return (await api.app.proposals(S.county)).proposals; }
export function showProposals(list: Proposal[]) {
  setProposals(list);
  refreshProposalLayer();
}
export async function loadProposals() { showProposals(await fetchProposals()); }

/** selectProposal shows a proposal on the map with the barriers on its boundary. */
export async function selectProposal(p: Proposal) {
  setSelProposal(p);
  refreshProposalLayer();
  fitGeom(p.geometry);
  renderSide();
  await guard(async () => setData('rz-barriers', await api.app.barriers(p.id)));
}

/** selectZone loads a zone with its lifting status and versions; an edit in progress ends. */
export async function selectZone(id: number) {
  if (S.target) endEdit();
  const [z, lifting, versions] = await Promise.all([api.zones.get(id), api.zones.lifting(id).catch(() => null), api.zones.versions(id)]);
  setZone(z, lifting, versions.versions);
  setData('rz-delta', empty);
  setData('rz-barriers', empty);
  refreshZoneLayer();
  fitGeom(z.current.geometry);
  if (S.tab === 'proposals') setTab('zone');
  renderSide();
}

/** showDiff compares a version of the selected zone with the one before, the buildings added and removed on the map. */
export async function showDiff(version: number) {
  const z = S.zone;
  if (!z) return;
  if (version < 2) { setDiff(null); setData('rz-delta', empty); renderSide(); return; }
  const d = await api.zones.diff(z.id, version - 1, version);
  setDiff(d);
  const ids = [...d.buildings_added, ...d.buildings_removed];
  if (ids.length) {
    const fc = await api.app.buildings(ids);
    const added = new Set(d.buildings_added);
    setData('rz-delta', { type: 'FeatureCollection', features: fc.features.map((f) => ({ ...f, properties: { ...f.properties, d: added.has(Number(f.id)) ? 'add' : 'remove' } })) });
  } else setData('rz-delta', empty);
  setTab('history');
  renderSide();
}
