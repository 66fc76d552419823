// The vertex a drag starts from and the building corner it should snap
// to (editing.spec.mjs): the first vertex of the selected ring of the
// editor, and the nearest corner of a building outside the zone, 30 to 250
// px away, where the moved ring stays simple and apart from the zone's
// other parts (terra-draw refuses a self-intersecting drag; the editor
// refuses overlapping parts). Answers { pt, corner } in page pixels;
// corner is null when there is none.
export async function snapCorner(page) {
  const pt = await page.evaluate(() => {
    const d = window.rzApp.draw;
    const m = window.rzApp.map;
    const sel = d.getSnapshot().find((f) => f.properties.selected) ?? d.getSnapshot().find((f) => f.properties.rzRole === 'outer');
    const ring = sel.geometry.coordinates[0];
    const canvas = m.getCanvas().getBoundingClientRect();
    const p = m.project(ring[0]);
    return { x: p.x + canvas.left, y: p.y + canvas.top };
  });
  // Drop the vertex 4 px off the nearest corner of a building outside
  // the zone: snapping must put it on the corner.
  // (A corner where the moved ring stays simple: terra-draw refuses a
  // self-intersecting drag.)
  const corner = await page.evaluate(async ({ x, y }) => {
    const m = window.rzApp.map;
    const canvas = m.getCanvas().getBoundingClientRect();
    const members = window.rzApp.S.target.buildingIDs;
    const d = window.rzApp.draw;
    const sel = d.getSnapshot().find((f) => f.properties.selected);
    const ring = sel.geometry.coordinates[0].map((c) => { const p = m.project(c); return [p.x, p.y]; });
    const cross = (o, a, b) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
    const hits = (a, b, c, e) => cross(c, e, a) * cross(c, e, b) < 0 && cross(a, b, c) * cross(a, b, e) < 0;
    // The zone's other parts (a zone of separate buildings has several):
    // the moved ring must stay apart from them, or the editor refuses it
    // as overlapping parts.
    const others = d.getSnapshot().filter((f) => f.id !== sel.id && f.geometry.type === 'Polygon' && f.properties.rzRole === 'outer' &&
      f.properties.rzPart !== sel.properties.rzPart)
      .map((f) => f.geometry.coordinates[0].map((c) => { const p = m.project(c); return [p.x, p.y]; }));
    const inside = (pt, r) => {
      let c = false;
      for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
        if ((r[i][1] > pt[1]) !== (r[j][1] > pt[1]) && pt[0] < ((r[j][0] - r[i][0]) * (pt[1] - r[i][1])) / (r[j][1] - r[i][1]) + r[i][0]) c = !c;
      }
      return c;
    };
    const apart = (r) => others.every((o) => {
      for (let i = 0; i + 1 < r.length; i++) for (let j = 0; j + 1 < o.length; j++) if (hits(r[i], r[i + 1], o[j], o[j + 1])) return false;
      return !inside(r[0], o) && !inside(o[0], r);
    });
    const simple = (r) => {
      const n = r.length - 1;
      for (let i = 0; i < n; i++) for (let j = i + 2; j < n; j++) {
        if (i === 0 && j === n - 1) continue;
        if (hits(r[i], r[i + 1], r[j], r[j + 1])) return false;
      }
      return apart(r);
    };
    // True footprint corners from the API (tile geometry has clip
    // vertices at tile edges that are not corners).
    const near = [];
    for (const f of m.queryRenderedFeatures({ layers: ['buildings'] })) {
      if (members.has(Number(f.id)) || near.some((n) => n.id === Number(f.id))) continue;
      const fr = f.geometry.type === 'Polygon' ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
      const p = m.project(fr[0]);
      near.push({ id: Number(f.id), d: Math.hypot(p.x + canvas.left - x, p.y + canvas.top - y) });
    }
    near.sort((a, b) => a.d - b.d);
    const cands = [];
    for (const { id } of near.slice(0, 8)) {
      const b = await (await fetch('/api/v1/app/buildings/' + id)).json();
      const fr = b.geometry.type === 'Polygon' ? b.geometry.coordinates[0] : b.geometry.coordinates[0][0];
      const px = fr.map((c) => { const q = m.project(c); return [q.x, q.y]; });
      for (let k = 0; k + 1 < fr.length; k++) {
        const c = fr[k];
        // A corner, not a point on a straight edge (tiles drop those).
        const prev = px[(k - 1 + fr.length - 1) % (fr.length - 1)], next = px[k + 1];
        const turn = Math.abs(cross(prev, px[k], next)) / (Math.hypot(px[k][0] - prev[0], px[k][1] - prev[1]) * Math.hypot(next[0] - px[k][0], next[1] - px[k][1]) || 1);
        if (turn < 0.2) continue;
        const p = m.project(c);
        const dist = Math.hypot(p.x + canvas.left - x, p.y + canvas.top - y);
        if (dist < 30 || dist > 250) continue;
        const moved = ring.map((q, i) => (i === 0 || i === ring.length - 1 ? [p.x, p.y] : q));
        if (simple(moved)) cands.push({ d: dist, x: p.x + canvas.left, y: p.y + canvas.top, lnglat: c });
      }
    }
    cands.sort((a, b) => a.d - b.d);
    return cands[0] ?? null;
  }, pt);
  return { pt, corner };
}
