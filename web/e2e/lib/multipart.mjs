// A zone of two parts and a hole, made through the API for shapes.spec.mjs:
// another active zone than ours (0: any) gets a hole in an empty spot of
// its first part and a second part in an empty spot outside it (no
// building under either: the membership rule keeps them as drawn). Runs
// in the signed-in page (its session, the map to find empty spots).
// Answers { id, version, before, sent, saved, geometry, part } or { error }.
export async function twoPartsAndAHole(page, ours = 0) {
  const made = await page.evaluate(async (ours) => {
    const m = window.rzApp.map;
    const me = await (await fetch('/api/v1/auth/me')).json();
    const rings = (g) => (g.type === 'Polygon' ? [g.coordinates] : g.coordinates);
    const count = (g) => ({ parts: rings(g).length, holes: rings(g).reduce((s, p) => s + p.length - 1, 0) });
    const inRing = (p, r) => {
      let inside = false;
      for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
        if ((r[i][1] > p[1]) !== (r[j][1] > p[1]) && p[0] < ((r[j][0] - r[i][0]) * (p[1] - r[i][1])) / (r[j][1] - r[i][1]) + r[i][0]) inside = !inside;
      }
      return inside;
    };
    const segDist = (p, a, b) => {
      const dx = b[0] - a[0], dy = b[1] - a[1];
      const t = Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy || 1)));
      return Math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy);
    };
    const area = (r) => { let s = 0; for (let i = 0; i + 1 < r.length; i++) s += r[i][0] * r[i + 1][1] - r[i + 1][0] * r[i][1]; return s / 2; };
    const square = (x, y, h, ccw) => {
      const r = [[x - h, y - h], [x + h, y - h], [x + h, y + h], [x - h, y + h], [x - h, y - h]].map(([a, b]) => {
        const ll = m.unproject([a, b]); return [Math.round(ll.lng * 1e6) / 1e6, Math.round(ll.lat * 1e6) / 1e6];
      });
      return (area(r) > 0) === ccw ? r : r.reverse();
    };
    const idle = () => new Promise((res) => { m.once('idle', res); m.triggerRepaint(); });
    const tried = [];
    for (const f of window.rzZones.features) {
      const id = f.properties.zone_id;
      if (id === ours) continue;
      const z = await (await fetch('/api/v1/zones/' + id)).json();
      const g = z.current.geometry;
      let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
      for (const p of rings(g)) for (const [x, y] of p[0]) { w = Math.min(w, x); s = Math.min(s, y); e = Math.max(e, x); n = Math.max(n, y); }
      m.fitBounds([[w, s], [e, n]], { padding: 200, duration: 0, maxZoom: 17 });
      if (m.getZoom() < 15.5) m.jumpTo({ center: [(w + e) / 2, (s + n) / 2], zoom: 15.5 });
      await idle();
      const px = rings(g).map((p) => p.map((r) => r.map((c) => { const q = m.project(c); return [q.x, q.y]; })));
      const dist = (pt) => Math.min(...px.flat().map((r) => Math.min(...r.slice(1).map((b, i) => segDist(pt, r[i], b)))));
      const cv = m.getCanvas().getBoundingClientRect();
      // The buildings drawn, as screen boxes (one query, not one per spot).
      const boxes = m.queryRenderedFeatures({ layers: ['buildings'] }).map((b) => {
        const cs = (b.geometry.type === 'Polygon' ? b.geometry.coordinates : b.geometry.coordinates.flat()).flat().map((c) => m.project(c));
        return [Math.min(...cs.map((q) => q.x)), Math.min(...cs.map((q) => q.y)), Math.max(...cs.map((q) => q.x)), Math.max(...cs.map((q) => q.y))];
      });
      const noBuilding = (x, y, h) => !boxes.some((b) => b[0] <= x + h && b[2] >= x - h && b[1] <= y + h && b[3] >= y - h);
      const noZone = (x, y, h) => m.queryRenderedFeatures([[x - h, y - h], [x + h, y + h]], { layers: ['rz-zones-fill'] }).length === 0;
      let hole = null, part = null;
      for (let y = 60; y < cv.height - 60; y += 15) {
        for (let x = 60; x < cv.width - 60; x += 15) {
          const pt = [x, y];
          const d = dist(pt);
          const inFirst = inRing(pt, px[0][0]) && !px[0].slice(1).some((r) => inRing(pt, r));
          const inAny = px.some((p) => inRing(pt, p[0]));
          if (inFirst && d > 14 && (!hole || d > hole.d) && noBuilding(x, y, 10)) hole = { x, y, d };
          if (!inAny && d > 45 && d < 250 && (!part || d < part.d) && noBuilding(x, y, 40) && noZone(x, y, 40)) part = { x, y, d };
        }
      }
      tried.push({ id, zoom: Math.round(m.getZoom() * 10) / 10, hole: !!hole, part: !!part });
      if (!part) continue;
      // The hole goes in an empty spot of the first part; a zone drawn at
      // its buildings has none, and then the new part carries the hole.
      let geometry;
      if (hole) {
        geometry = { type: 'MultiPolygon', coordinates: [[...g.coordinates[0] ?? [], square(hole.x, hole.y, 5, false)], ...rings(g).slice(1), [square(part.x, part.y, 15, true)]] };
        if (g.type === 'Polygon') geometry.coordinates[0] = [...g.coordinates, square(hole.x, hole.y, 5, false)];
      } else {
        geometry = { type: 'MultiPolygon', coordinates: [...rings(g), [square(part.x, part.y, 15, true), square(part.x + 7, part.y + 7, 4, false)]] };
      }
      const res = await fetch(`/api/v1/zones/${id}/geometry`, {
        method: 'PUT', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token },
        body: JSON.stringify({ version: z.current_version, reason: 'e2e: a second part and a hole', geometry }),
      });
      if (res.status !== 200) return { error: `PUT geometry of zone ${id}: ${res.status} ${await res.text()}` };
      const saved = await (await fetch('/api/v1/zones/' + id)).json();
      const partCentre = m.unproject([part.x, part.y]);
      return { id, version: saved.current_version, before: count(g), sent: count(geometry), saved: count(saved.current.geometry),
        geometry: saved.current.geometry, part: [partCentre.lng, partCentre.lat] };
    }
    return { error: 'no other zone with an empty spot inside and one outside: ' + JSON.stringify(tried) };
  }, ours);
  return made;
}
