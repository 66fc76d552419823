// Seeding a story's state through the API, on the story's own server (a
// fresh copy of a seeded database, see fixtures.mjs; the functions here
// need the state "run", where expert has run the proposal engine): what
// the story does not show in the browser but needs to have happened.
import { signIn } from './api.mjs';

// countyOf: the county the app opens (the first listed).
export async function countyOf(user) {
  const { counties } = await user.get('/api/v1/app/counties');
  if (!counties.length) throw new Error('no county in the demo database');
  return counties[0].id;
}

// newestRun answers the open proposals of the newest run: on a server of
// the state "run" (test.use({ state: 'run' })), the run expert made.
export async function newestRun(user, county) {
  const { proposals } = await user.get(`/api/v1/app/proposals?county=${county}`);
  const newest = Math.max(...proposals.map((p) => p.run_id));
  return proposals.filter((p) => p.run_id === newest && p.status === 'proposed');
}

// uncovered keeps the proposals none of whose buildings (and, with units,
// none of whose units) an active zone holds (a building is in one active
// zone at most).
export async function uncovered(user, county, proposals, units = true) {
  const zones = await user.get(`/api/v1/zones?county=${county}`);
  const taken = new Set(zones.features.flatMap((f) => f.properties.building_ids));
  const held = new Set(zones.features.flatMap((f) => f.properties.unit_ids || []));
  return proposals.filter((p) => !(p.building_ids || []).some((b) => taken.has(b)) && !(units && (p.unit_ids || []).some((u) => held.has(u))));
}

const onePart = (p) => p.geometry?.type === 'Polygon' || (p.geometry?.type === 'MultiPolygon' && p.geometry.coordinates.length === 1);

// centre: the mean of the first ring's corners of a (multi)polygon.
function centre(g) {
  const ring = (g.type === 'Polygon' ? g.coordinates[0] : g.coordinates[0][0]).slice(0, -1);
  return [0, 1].map((k) => ring.reduce((s, c) => s + c[k], 0) / ring.length);
}

// acceptedZone: expert2 (the second person) accepts expert's run's largest one-part proposal that no active zone
// covers (others when the server answers 409). With minBuildings, expert2
// then adds the buildings of the nearest other uncovered proposals until
// the zone has that many (the demo run's open proposals are mostly of one
// building). Answers the zone as the server last answered it, with the
// county.
export async function acceptedZone(base, { minBuildings = 1 } = {}) {
  const expert = await signIn(base, 'expert');
  const expert2 = await signIn(base, 'expert2');
  try {
    const county = await countyOf(expert);
    const open = await uncovered(expert2, county, await newestRun(expert, county));
    open.sort((a, b) => Number(onePart(b)) - Number(onePart(a)) || b.buildings - a.buildings);
    const tried = [];
    let z = null;
    let from = null;
    for (const p of open) {
      const r = await expert2.call('POST', `/api/v1/proposals/${p.id}/approve`, { reason: 'e2e: seeded zone' });
      tried.push(`#${p.id}: ${r.status}`);
      if (r.status === 409) continue;
      if (r.status !== 200 && r.status !== 201) throw new Error(`approve #${p.id}: ${r.status} ${JSON.stringify(r.body)}`);
      z = r.body;
      from = p;
      break;
    }
    if (!z) throw new Error('no proposal of the new run could be accepted: ' + tried.join(', '));
    if (z.current.building_ids.length < minBuildings) {
      const [x, y] = centre(from.geometry);
      const near = (await uncovered(expert2, county, open.filter((p) => p.id !== from.id)))
        .map((p) => ({ ids: p.building_ids, d: Math.hypot(centre(p.geometry)[0] - x, centre(p.geometry)[1] - y) }))
        .sort((a, b) => a.d - b.d);
      const add = [];
      for (const n of near) {
        if (z.current.building_ids.length + add.length >= minBuildings) break;
        add.push(...n.ids);
      }
      z = await expert2.ok('PATCH', `/api/v1/zones/${z.id}/members`, { version: z.current_version, reason: 'e2e: seeded zone, its neighbours too', add_buildings: add });
    }
    return { id: z.id, version: z.current_version, name: z.current.name, buildings: z.current.building_ids, county, proposal: from.id };
  } finally {
    await expert.dispose();
    await expert2.dispose();
  }
}

// enlargedAlongBarriers: expert enlarges proposals of its run one level at a time until one's boundary runs along barriers
// and no active zone holds one of its buildings (one may hold a unit:
// accepting it is then refused); answers those (at most three).
export async function enlargedAlongBarriers(base) {
  const expert = await signIn(base, 'expert');
  try {
    const county = await countyOf(expert);
    const open = await newestRun(expert, county);
    const done = [];
    for (const first of open.filter((p) => (p.rationale?.enlargements || []).length > 0)) {
      let cur = first.id;
      for (let k = 0; k < 4; k++) {
        const r = await expert.call('POST', `/api/v1/proposals/${cur}/enlarge`, { reason: 'e2e: the spread is wider than the buildings' });
        if (r.status === 409) break; // the top level
        if (r.status !== 200) throw new Error(`enlarge #${cur}: ${r.status} ${JSON.stringify(r.body)}`);
        cur = r.body.proposals[0].id;
        const { proposals } = await expert.get(`/api/v1/app/proposals?county=${county}`);
        const next = proposals.find((p) => p.id === cur);
        if (!next) throw new Error(`the enlarged proposal #${cur} is not listed`);
        if ((next.boundary_barriers || []).length > 0 && (await uncovered(expert, county, [next], false)).length > 0) { done.push(cur); break; }
      }
      if (done.length >= 3) break;
    }
    if (!done.length) throw new Error('no enlarged proposal along barriers that no active zone covers');
    return done;
  } finally {
    await expert.dispose();
  }
}
