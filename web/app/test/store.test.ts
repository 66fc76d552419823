// The store: every change goes through its update functions, which keep
// the invariants the panels rely on.
import { describe, it, expect, beforeEach } from 'vitest';
import * as store from '../src/store';
import { S } from '../src/store';
import type { ConflictBody, NoticePreviewAnswer, Zone } from '../src/api_types';

const zone = (id: number, v: number): Zone => ({
  id, county_id: 1, proposal_id: null, parent_zone_ids: null, current_version: v, status: 'active', created_at: '',
  current: { zone_id: id, version: v, building_ids: [1, 2] } as Zone['current'],
});
const conflict: ConflictBody = { error: { code: 'conflict', message: 'stale' }, zone_id: 5, current_version: 4, status: 'active', etag: '' };

describe('store', () => {
  beforeEach(() => store.reset());

  it('starts a session: role tab, published layer, counties', () => {
    store.setSession({ user: { id: 1, username: 'u', display_name: '' }, role: 'publisher' }, 'publish', true);
    store.setCounties([{ id: 9, name: 'a', name_en: 'A', bbox: [0, 0, 1, 1] }], 9);
    expect(S.tab).toBe('publish');
    expect(S.layers.published).toBe(true);
    expect(S.layers.zones).toBe(true);
    expect(S.county).toBe(9);
  });

  it('drops a preview with the county, and the result of a publication with a new preview', () => {
    const preview: NoticePreviewAnswer = { county_id: 1, notices: [] };
    store.setPreview(preview);
    expect(S.preview).toBe(preview);
    store.setPublished([]);
    expect(S.preview).toBeNull();
    expect(S.publishResult).toEqual([]);
    store.setPreview(preview);
    expect(S.publishResult).toBeNull();
    store.setCounty(2);
    expect(S.preview).toBeNull();
    expect(S.county).toBe(2);
  });

  it('drops a diff when another zone is shown', () => {
    store.setDiff({ zone_id: 1, from: 1, to: 2 } as never);
    store.setZone(zone(3, 2), null, []);
    expect(S.diff).toBeNull();
    expect(S.zone?.id).toBe(3);
  });

  it('ends a conflict with its edit, and updates the edit without touching what it was before', () => {
    const tg: store.Target = { kind: 'zone', id: 5, version: 3, name: 'z', buildingIDs: new Set([1]), geometry: { type: 'Polygon', coordinates: [] } };
    store.setTarget(tg);
    store.setConflict({ ...conflict, reason: 'r' });
    store.setTheirs(zone(5, 4));
    expect(S.conflict?.theirs?.current_version).toBe(4);
    expect(S.conflict?.reason).toBe('r');
    store.updateTarget({ version: 4, refused: 'no' });
    expect(S.target).toMatchObject({ id: 5, version: 4, refused: 'no' });
    expect(tg.version).toBe(3);
    store.setTarget(null);
    expect(S.conflict).toBeNull();
    store.updateTarget({ version: 9 });
    expect(S.target).toBeNull();
  });

  it('turns layers and zone filters on and off as new objects', () => {
    const layers = S.layers;
    const filter = S.zoneFilter;
    store.setLayer('cases', true);
    store.setZoneStatus('lifted', true);
    store.setZoneLevel('low', false);
    expect(S.layers.cases).toBe(true);
    expect(layers.cases).toBe(false);
    expect(S.zoneFilter.statuses).toEqual({ active: true, lifted: true, superseded: false });
    expect(S.zoneFilter.levels.low).toBe(false);
    expect(filter.statuses.lifted).toBe(false);
  });

  it('sets and clears the message', () => {
    store.setMsg('err', 'x');
    expect(S.msg).toEqual({ kind: 'err', text: 'x' });
    store.clearMsg();
    expect(S.msg).toBeNull();
  });
});
