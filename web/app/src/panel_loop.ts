// The closed-loop panel (闭环): the county's contacts with a step past its
// limit and the button for their next step, the county's quarantine rooms
// against the standard, and for the selected zone the rooms its contacts
// need and the compounds to lock down with their entrances.
import { t } from './i18n';
import * as api from './client';
import { S, setLoop } from './store';
import { esc, fmt, guard, renderSide, say, type Binder, type Panel } from './ui';
import type { Contact } from './api_types';
import { setData } from './mapview';

/** loadLoop reads what the panel shows; refreshBadge only the overdue count. */
export async function loadLoop() {
  const county = S.county;
  const [over, count, sites] = await Promise.all([api.contacts.overdue(county), api.contacts.overdueCount(county), api.sites.overview(county)]);
  let need = null, compounds: typeof S.loop.compounds = [];
  const zone = S.zone?.id ?? 0;
  const proposal = zone ? 0 : S.selProposal?.id ?? 0;
  if (zone) {
    const [n, c] = await Promise.all([api.sites.need(zone), api.lockdowns.ofZone(zone)]);
    need = n;
    compounds = c.compounds;
  } else if (proposal) {
    need = await api.sites.proposalNeed(proposal);
  }
  setLoop({ contacts: over.contacts, overdue: count.overdue, summary: sites.summary, sites: sites.sites, need, compounds, zone, proposal });
  drawLoop();
  renderSide();
}
/** drawLoop puts the county's sites and the zone's entrances on the map. */
function drawLoop() {
  const pt = (lon: number, lat: number) => ({ type: 'Point' as const, coordinates: [lon, lat] });
  setData('rz-sites', { type: 'FeatureCollection', features: S.loop.sites.filter((x) => x.active)
    .map((x) => ({ type: 'Feature' as const, geometry: pt(x.lon, x.lat), properties: { id: x.id, name: x.name, free: x.free } })) });
  setData('rz-entrances', { type: 'FeatureCollection', features: S.loop.compounds.flatMap((c) => c.entrances)
    .map((e) => ({ type: 'Feature' as const, geometry: pt(e.lon, e.lat), properties: { id: e.id, state: e.state, staff: e.staff } })) });
}

export async function refreshBadge() {
  setLoop({ overdue: (await api.contacts.overdueCount(S.county)).overdue });
}

const when = (iso: string) => new Date(iso).toLocaleString();

function contactRow(c: Contact): string {
  const late = c.overdue.map((d) => `${esc(t('step.' + d.step))} (${esc(when(d.due_at))})`).join(', ');
  const next = c.next ? `<button data-step="${esc(c.next.step)}" data-contact="${c.id}">${esc(t('recordStep', { step: t('step.' + c.next.step) }))}</button>` : '';
  const site = S.loop.sites.length ? `<select data-place="${c.id}" aria-label="${esc(t('placeIn'))}"><option value="">${esc(t('placeIn'))}</option>${S.loop.sites
    .filter((x) => x.active).map((x) => `<option value="${x.id}" ${x.id === c.site_id ? 'selected' : ''}>${esc(x.name)} (${esc(t('free'))} ${fmt(x.free)})</option>`).join('')}</select>` : '';
  return `<li data-testid="overdue-contact" data-contact-no="${esc(c.contact_no)}"><b>${esc(c.contact_no)}</b> · ${esc(t('contact.' + c.kind))} · ${esc(t('step.' + c.status))}<br>
    <span class="warn">${esc(t('overdueSteps'))}: ${late}</span> ${next} ${site}</li>`;
}

function render(): string {
  const L = S.loop;
  const s = L.summary;
  const rooms = s ? `<dl class="nums" data-testid="rooms"><dt>${esc(t('residents'))}</dt><dd>${fmt(s.residents)}</dd>
    <dt>${esc(t('roomsRequired', { n: s.rooms_per_10k }))}</dt><dd>${fmt(s.rooms_required)}</dd>
    <dt>${esc(t('rooms'))}</dt><dd>${fmt(s.rooms)} (${esc(t('free'))} ${fmt(s.free)})</dd>
    <dt>${esc(t('shortfall'))}</dt><dd data-testid="shortfall" class="${s.shortfall > 0 ? 'warn' : ''}">${fmt(s.shortfall)}</dd></dl>
    <button id="assign">${esc(t('assignSites'))}</button>` : '';
  const siteRows = L.sites.length ? `<ul data-testid="sites">${L.sites.map((x) => `<li>${esc(x.name)} · ${esc(t('rooms'))} ${fmt(x.rooms)} · ${esc(t('assignedN', { n: x.assigned }))}
    · <label>${esc(t('occupied'))} <input type="number" min="0" max="${x.rooms}" value="${x.occupied}" data-occupied="${x.id}" style="width:5em"></label></li>`).join('')}</ul>` : '';
  const n = L.need;
  const title = L.zone ? `${t('zoneNeed')}: ${S.zone?.current.name ?? ''}` : `${t('proposalNeed')} #${L.proposal}`;
  const need = n && (L.zone ? L.zone === S.zone?.id : L.proposal === S.selProposal?.id) ? `<h3>${esc(title)}</h3>
    <dl class="nums" data-testid="zone-need"><dt>${esc(t('population'))}</dt><dd>${fmt(n.residents)}</dd><dt>${esc(t('staff'))}</dt><dd>${fmt(n.staff_required)}</dd>
    <dt>${esc(t('contacts'))}</dt><dd>${fmt(n.contacts)}</dd>
    <dt>${esc(t('expectedContacts'))}</dt><dd title="${esc(t('expectedHint', { n: n.cases_without_contacts, r: n.contacts_per_case.toFixed(1) }))}">${fmt(n.expected_contacts)}</dd>
    <dt>${esc(t('roomsNeeded'))}</dt><dd>${fmt(n.rooms_needed)}</dd>
    <dt>${esc(t('siteStaff'))}</dt><dd>${fmt(n.site_staff_needed)}</dd><dt>${esc(t('shortfall'))}</dt><dd>${fmt(n.rooms_shortfall)}</dd></dl>
    <ul>${(n.sites ?? []).map((o) => `<li>${esc(o.name)} · ${esc(t('free'))} ${fmt(o.free)} · ${fmt(Math.round(o.distance_m))} m</li>`).join('')}</ul>
    <h3>${esc(t('compounds'))}</h3><ul data-testid="compounds">${L.compounds.map((c) => `<li><b>${esc(c.name)}</b> · ${esc(t('entrancesOpen', { open: c.open, closed: c.closed }))}
      · ${esc(t('staff'))} ${fmt(c.entrance_staff)}/${fmt(c.staff_required)}${c.problem_codes.map((p) => `<br><span class="warn">${esc(t('problem.' + p, { n: c.unmanned.length, have: c.entrance_staff, need: c.staff_required }))}</span>`).join('')}
      ${c.entrances.map((e) => `<br>${esc(e.name || t('entrance'))} · ${esc(t('entrance.' + e.state))} · ${esc(t('staff'))} ${fmt(e.staff)}
        <button data-entrance="${e.id}" data-to="${e.state === 'open' ? 'closed' : 'open'}">${esc(t(e.state === 'open' ? 'closeEntrance' : 'openEntrance'))}</button>`).join('')}</li>`).join('')}</ul>` : '';
  const forms = `<details data-testid="loop-forms"><summary>${esc(t('registerLists'))}</summary>
    <label class="f">${esc(t('contactsCSV'))}<textarea id="contactsCSV" rows="3" placeholder="contact_no,kind,case_no,via_contact_no,identified_at,building_id"></textarea></label>
    <button id="registerContacts">${esc(t('registerContacts'))}</button>
    <label class="f">${esc(t('sitesCSV'))}<textarea id="sitesCSV" rows="3" placeholder="name,rooms,occupied,staff,lon,lat"></textarea></label>
    <button id="registerSites">${esc(t('registerSites'))}</button></details>`;
  return `<h2>${esc(t('tab.loop'))}</h2>${forms}
    <h3>${esc(t('overdueContacts'))}</h3>${L.contacts.length ? `<ul class="versions">${L.contacts.map(contactRow).join('')}</ul>` : `<p class="muted">${esc(t('noOverdue'))}</p>`}
    <h3>${esc(t('quarantineRooms'))}</h3>${rooms}${siteRows}${need}`;
}

function bind(b: Binder) {
  b.on('[data-step]', (el) => guard(async () => {
    const c = await api.contacts.step(Number(el.dataset.contact), el.dataset.step ?? '');
    say('ok', t('stepRecorded', { no: c.contact_no, step: t('step.' + (el.dataset.step ?? '')) }));
    await loadLoop();
  }));
  b.on('#registerContacts', () => guard(async () => {
    const r = await api.contacts.registerCSV(S.county, b.val('contactsCSV'));
    say('ok', t('contactsRegistered', { n: r.contacts.length }));
    await loadLoop();
  }));
  b.on('#registerSites', () => guard(async () => {
    const r = await api.sites.putCSV(S.county, b.val('sitesCSV'));
    say('ok', t('sitesRegistered', { n: r.sites.length }));
    await loadLoop();
  }));
  b.on('[data-entrance]', (el) => guard(async () => {
    const to = el.dataset.to === 'closed' ? 'closed' : 'open';
    await api.lockdowns.editEntrance(Number(el.dataset.entrance), { state: to, reason: t('entranceReason') });
    say('ok', t('entrance.' + to));
    await loadLoop();
  }));
  b.change('[data-place]', (el) => guard(async () => {
    if (!el.value) return;
    const c = await api.sites.place(Number(el.dataset.place), Number(el.value), t('placeReason'));
    say('ok', t('placed', { no: c.contact_no }));
    await loadLoop();
  }));
  b.change('[data-occupied]', (el) => guard(async () => {
    const x = await api.sites.edit(Number(el.dataset.occupied), { occupied: Number(el.value), reason: t('occupiedReason') });
    say('ok', t('siteSaved', { name: x.name }));
    await loadLoop();
  }));
  b.on('#assign', () => guard(async () => {
    const r = await api.sites.assign(S.county);
    say(r.waiting.length ? 'warn' : 'ok', t('assigned', { n: r.assigned.length, w: r.waiting.length }));
    await loadLoop();
  }));
}

export const loopPanel: Panel = { render, bind };
