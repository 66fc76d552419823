// The typed API client of the expert app: one function per request it
// makes, grouped by resource, each with the server's request and answer
// types (api_types.ts). Errors are ApiError (api.ts).
import { request, upload } from './api';
import type {
  ApproveBody, Building, BarrierProps, County, Diff, FeatureCollection, GeometryEditBody, LiftBody, LiftingStatus, LineGeometry,
  LoginRequest, Me, MembersEditBody, Notice, NoticePreviewAnswer, Proposal, ProposalRecord, ProposeAnswer, ProposeBody, PublishBody,
  Run, ScreeningAnswer, StepAnswer, VersionsAnswer, Zone, ZoneCollection,
  AssignAnswer, CompoundLockdown, Contact, CountyRooms, QuarantineNeed, Site,
} from './api_types';
import type { ScreeningBody } from './screening';
import type { Areal } from './geom';

const q = encodeURIComponent;

/** Sign-in (server/auth.go). */
export const auth = {
  me: () => request<Me>('GET', '/api/v1/auth/me'),
  login: (body: LoginRequest) => request<Me>('POST', '/api/v1/auth/login', body),
  logout: () => request<null>('POST', '/api/v1/auth/logout'),
};

/** The app's helper reads (server/app_api.go). */
export const app = {
  counties: () => request<{ counties: County[] }>('GET', '/api/v1/app/counties'),
  proposals: (county: number) => request<{ proposals: Proposal[] }>('GET', `/api/v1/app/proposals?county=${county}`),
  runs: (county: number) => request<{ runs: Run[] }>('GET', `/api/v1/app/runs?county=${county}`),
  barriers: (proposal: number) => request<FeatureCollection<LineGeometry, BarrierProps>>('GET', `/api/v1/app/proposals/${proposal}/barriers`),
  building: (id: number) => request<Building>('GET', `/api/v1/app/buildings/${id}`),
  buildings: (ids: number[]) => request<FeatureCollection<Areal, Building['properties']>>('GET', `/api/v1/app/buildings?ids=${ids.join(',')}`),
  search: (county: number, text: string) => request<FeatureCollection<Areal, Building['properties']>>('GET', `/api/v1/app/search?county=${county}&q=${q(text)}`),
  noticePreview: (county: number) => request<NoticePreviewAnswer>('GET', `/api/v1/app/notice-preview?county=${county}`),
};

/** Engine runs and decisions on proposals (server/expert.go, server/zones.go). */
export const proposals = {
  run: (body: ProposeBody) => request<ProposeAnswer>('POST', '/api/v1/proposals', body),
  approve: (id: number, body: ApproveBody) => request<Zone>('POST', `/api/v1/proposals/${id}/approve`, body),
  reject: (id: number, reason: string) => request<ProposalRecord>('POST', `/api/v1/proposals/${id}/reject`, { reason }),
  step: (id: number, dir: 'enlarge' | 'shrink', reason: string) => request<StepAnswer>('POST', `/api/v1/proposals/${id}/${dir}`, { reason }),
};

/** Which zones GET /zones lists: in force (default), by status, or as of an instant. */
export interface ZoneQuery { county: number; status?: string; at?: string }

/** Zones, their versions, edits, screenings and lifting (server/zones.go). */
export const zones = {
  list: (z: ZoneQuery) => request<ZoneCollection>('GET', `/api/v1/zones?county=${z.county}${z.at ? `&at=${q(z.at)}` : z.status ? `&status=${q(z.status)}` : ''}`),
  get: (id: number) => request<Zone>('GET', `/api/v1/zones/${id}`),
  lifting: (id: number) => request<LiftingStatus>('GET', `/api/v1/zones/${id}/lifting`),
  versions: (id: number) => request<VersionsAnswer>('GET', `/api/v1/zones/${id}/versions`),
  diff: (id: number, from: number, to: number) => request<Diff>('GET', `/api/v1/zones/${id}/diff?from=${from}&to=${to}`),
  replaceGeometry: (id: number, body: GeometryEditBody) => request<Zone>('PUT', `/api/v1/zones/${id}/geometry`, body),
  editMembers: (id: number, body: MembersEditBody) => request<Zone>('PATCH', `/api/v1/zones/${id}/members`, body),
  addScreening: (id: number, body: ScreeningBody) => request<ScreeningAnswer>('POST', `/api/v1/zones/${id}/screenings`, body),
  lift: (id: number, body: LiftBody) => request<Zone>('POST', `/api/v1/zones/${id}/lift`, body),
};

/** Publishing (server/public_pages.go). */
export const notices = {
  publish: (body: PublishBody) => request<{ notices: Notice[] }>('POST', '/api/v1/notices', body),
};

/** Contacts and their closed loop (server/contacts.go). */
export const contacts = {
  overdue: (county: number) => request<{ contacts: Contact[] }>('GET', `/api/v1/contacts?county=${county}&overdue=true&limit=50`),
  overdueCount: (county: number) => request<{ county_id: number; overdue: number }>('GET', `/api/v1/contacts/overdue-count?county=${county}`),
  step: (id: number, step: string) => request<Contact>('POST', `/api/v1/contacts/${id}/steps`, { step }),
  registerCSV: (county: number, csv: string) => upload<{ contacts: Contact[] }>('POST', `/api/v1/contacts?county=${county}`, 'text/csv', csv),
};

/** Quarantine sites, the rooms standard and placements (server/sites.go). */
export const sites = {
  overview: (county: number) => request<{ summary: CountyRooms; sites: Site[] }>('GET', `/api/v1/quarantine-sites?county=${county}`),
  assign: (county: number) => request<AssignAnswer>('POST', '/api/v1/quarantine-sites/assign', { county_id: county }),
  need: (zone: number) => request<QuarantineNeed>('GET', `/api/v1/zones/${zone}/quarantine`),
  proposalNeed: (id: number) => request<QuarantineNeed>('GET', `/api/v1/proposals/${id}/quarantine`),
  edit: (id: number, body: { rooms?: number; occupied?: number; staff?: number; active?: boolean; reason: string }) =>
    request<Site>('PATCH', `/api/v1/quarantine-sites/${id}`, body),
  place: (contact: number, site: number, reason: string) => request<Contact>('PUT', `/api/v1/contacts/${contact}/site`, { site_id: site, reason }),
  putCSV: (county: number, csv: string) => upload<{ sites: Site[] }>('POST', `/api/v1/quarantine-sites?county=${county}`, 'text/csv', csv),
};

/** Compound lockdowns (server/lockdown.go). */
export const lockdowns = {
  ofZone: (zone: number) => request<{ zone_id: number; compounds: CompoundLockdown[] }>('GET', `/api/v1/zones/${zone}/compounds`),
  editEntrance: (id: number, body: { state?: 'open' | 'closed'; staff?: number; reason: string }) =>
    request<CompoundLockdown>('PATCH', `/api/v1/entrances/${id}`, body),
};
