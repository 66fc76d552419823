// Publishing: the publisher (no Proposals tab, refused the proposals API)
// previews the notice (zh, en, CAP, Atom) and publishes; a zone edited
// after its designation is then public at its latest version.
import { test, check } from '../fixtures.mjs';
import { signIn } from '../lib/api.mjs';

// The zone fixture accepts a proposal of expert's run.
test.use({ state: 'run' });

test('publisher (no Proposals tab) previews (zh/en, CAP, Atom) and publishes', async ({ app, page, zone }) => {
  check(zone.id > 0, 'a zone to publish');
  await app.login('publisher');
  const tabs = await page.$$eval('[data-tab]', (els) => els.map((e) => e.dataset.tab));
  check(!tabs.includes('proposals') && !tabs.includes('zone') && !tabs.includes('history') && tabs.includes('publish'), 'publisher tabs: ' + tabs);
  const status = await page.evaluate(async () => (await fetch('/api/v1/app/proposals?county=' + window.rzApp.S.county)).status);
  check(status === 403, 'the proposals API refuses the publisher: ' + status);
  await page.click('[data-testid=preview]');
  await page.waitForSelector('[data-testid=notice-preview]');
  check((await app.text('[data-testid=body-zh]')).length > 20, 'Chinese notice text');
  check((await app.text('[data-testid=body-en]')).length > 20, 'English notice text');
  check((await app.text('[data-testid=cap]')).includes('urn:oasis:names:tc:emergency:cap:1.2'), 'CAP 1.2 message');
  check((await app.text('[data-testid=atom]')).includes('http://www.w3.org/2005/Atom'), 'Atom entry');
  await app.shot('publish-preview');
  await page.fill('#pubReason', 'e2e: publish the reviewed zone');
  await page.click('[data-testid=publish-now]');
  await page.waitForSelector('[data-testid=published]');
  await app.shot('published');
});

test('the zone is on the public page at its latest version', async ({ app, page, bigZone: zone }) => {
  // Seeded: expert2 removes a building (version 2), the publisher publishes.
  check(zone.buildings.length >= 2, `the seeded zone #${zone.id} has buildings to spare: ${zone.buildings}`);
  const expert2 = await signIn(app.base, 'expert2');
  const publisher = await signIn(app.base, 'publisher');
  let version;
  try {
    const z = await expert2.ok('PATCH', `/api/v1/zones/${zone.id}/members`,
      { version: zone.version, reason: 'e2e: one building is outside the affected area', remove_buildings: [zone.buildings[0]] });
    version = z.current_version;
    check(version === zone.version + 1, `the edit made version ${zone.version + 1}: ${version}`);
    await publisher.ok('POST', '/api/v1/notices', { county_id: zone.county, reason: 'e2e: publish the edited zone' });
  } finally {
    await expert2.dispose();
    await publisher.dispose();
  }
  await page.goto(app.base + '/', { waitUntil: 'load' });
  const pub = await page.evaluate(async (c) => (await (await fetch(`/api/v1/public/zones?county=${c}`)).json()), zone.county);
  check(pub.features.some((f) => f.id === zone.id && f.properties.version === version), `zone ${zone.id} v${version} is public`);
  await page.goto(`${app.base}/zones/${zone.id}`, { waitUntil: 'load' });
  const body = await page.locator('body').innerText();
  check(body.includes(zone.name), 'public zone page names the zone');
  await app.shot('public-zone');
});
