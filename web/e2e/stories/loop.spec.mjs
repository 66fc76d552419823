// The closed loop (闭环): a close contact of a case in the zone, named by
// disease control three hours ago, is overdue for its first step (2 h): the
// tab's badge counts it, the panel lists it with the button for its next
// step, recording it clears it; the zone's need counts the contact and the
// rooms it needs beside a quarantine site near the zone.
import { test, check } from '../fixtures.mjs';
import { signIn } from '../lib/api.mjs';

test.use({ state: 'run' });

test('an overdue contact is badged, listed, its step recorded, and the zone needs its room', async ({ app, page, server, zone }) => {
  const expert = await signIn(server, 'expert');
  const z = await expert.get(`/api/v1/zones/${zone.id}`);
  const { cases } = await expert.get(`/api/v1/cases?county=${zone.county}&limit=1000`);
  const bs = new Set(z.current.building_ids);
  const us = new Set(z.current.unit_ids || []);
  const c = cases.find((x) => bs.has(x.residence_building_id) || us.has(x.residence_unit_id));
  check(!!c, 'a case lives in the zone');
  const identified = new Date(Date.now() - 3 * 3600 * 1000).toISOString();
  await expert.ok('POST', '/api/v1/contacts', { contact_no: 'E2E-M1', county_id: zone.county, kind: 'close', case_no: c.case_no,
    identified_at: identified, residence: { building_id: z.current.building_ids[0] } });
  const ring = z.current.geometry.type === 'Polygon' ? z.current.geometry.coordinates[0] : z.current.geometry.coordinates[0][0];
  await expert.ok('POST', '/api/v1/quarantine-sites', { county_id: zone.county, name: 'E2E 隔离酒店', rooms: 20, staff: 3, lon: ring[0][0], lat: ring[0][1] });
  await expert.dispose();

  await app.login('expert2');
  await page.waitForSelector('[data-testid=overdue-badge]');
  check((await app.text('[data-testid=overdue-badge]')).trim() === '1', 'the badge counts the one overdue step');
  await app.openZone(zone.id);
  await page.click('[data-tab=loop]');
  const row = page.locator('[data-testid=overdue-contact][data-contact-no="E2E-M1"]');
  await row.waitFor();
  check((await row.innerText()).includes('联系'), 'the overdue step is named: ' + (await row.innerText()));
  await page.waitForSelector('[data-testid=zone-need]');
  const need = await app.text('[data-testid=zone-need]');
  check(/密接和次密接\s*1/.test(need) && /需隔离房间\s*1/.test(need), 'the zone needs a room for its contact: ' + need);
  check((await app.text('[data-testid=rooms]')).includes('20'), 'the site\'s rooms are counted');
  await app.shot('loop');
  await row.locator('button[data-step=contact]').click();
  await app.waitMsg(/E2E-M1：已登记联系/, 'ok');
  await page.waitForFunction(() => !document.querySelector('[data-testid=overdue-contact]'));
  check(await page.locator('[data-testid=overdue-badge]').count() === 0, 'no badge once the step is done');
  await app.switchLang('en');
  check((await app.text('[data-tab=loop]')).includes('Closed loop'), 'the tab in English');
});
