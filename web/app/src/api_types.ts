// The JSON the expert app sends and reads, typed after the server's Go
// structs (each type names the struct it mirrors). Dates (zoning.Date) are
// "YYYY-MM-DD" strings; times are RFC 3339 strings.
import type { LineString, MultiLineString, MultiPolygon as GeoMultiPolygon, Polygon as GeoPolygon } from 'geojson';
import type { Areal, Position } from './geom';

// ---- errors (server/errors.go) ------------------------------------------------

/** The error codes of the server (server/errors.go codeOf). */
export const serverErrorCodes = ['invalid', 'unauthorized', 'forbidden', 'not_found', 'method_not_allowed', 'conflict', 'too_large',
  'unsupported_media_type', 'rate_limited', 'unavailable', 'internal'] as const;
export type ServerErrorCode = (typeof serverErrorCodes)[number];

/** ErrorBody (server/errors.go): the body of every error answer. */
export interface ErrorBody { error: { code: string; message: string } }

/** conflictBody (server/zones.go): a stale version, and where the zone is now. */
export interface ConflictBody extends ErrorBody { zone_id: number; current_version: number; status: string; etag: string }

// ---- sign-in (server/auth.go) -------------------------------------------------

/** The roles of zoning.Role. */
export type Role = 'admin' | 'expert' | 'publisher' | 'agency' | 'public';

/** sessionJSON: the answer of login and /auth/me. */
export interface Me {
  user: { id: number; username: string; display_name: string } | null;
  role: Role;
  via?: string;
  csrf_token?: string;
  expires_at?: string;
}

/** loginRequest. */
export interface LoginRequest { username: string; password: string }

// ---- GeoJSON --------------------------------------------------------------------

export interface Feature<G = Areal, P = Record<string, unknown>> {
  type: 'Feature';
  id?: number | string;
  geometry: G;
  properties: P;
}
export interface FeatureCollection<G = Areal, P = Record<string, unknown>> { type: 'FeatureCollection'; features: Feature<G, P>[] }

/** A line or area geometry a barrier has (barriers.geom). */
export type LineGeometry = LineString | MultiLineString | GeoPolygon | GeoMultiPolygon;

// ---- the app's helper reads (server/app_api.go) -----------------------------------

/** appCounty. */
export interface County { id: number; name: string; name_en: string; bbox: [number, number, number, number] }

/** zoning.BarrierRef: a barrier on a proposal's boundary. */
export interface BarrierRef { id: number; kind: string; road_class?: string; name: string; shared_length_m: number }

/** zoning.RationaleText: the rationale as sentences. */
export interface RationaleText { zh: string[]; en: string[] }

/** zoning.Rationale, the parts the app reads (case ids are restricted and not shown). */
export interface Rationale {
  rules?: string[];
  boundary_on_barriers?: number;
  enlarged?: boolean;
  enlargements?: unknown[];
  text?: RationaleText;
}

/** appProposal: a proposal in the review list. */
export interface Proposal {
  id: number; run_id: number; county_id: number; name: string; level: string; status: string;
  population: number; staff_required: number; area_m2: number; buildings: number;
  building_ids: number[] | null; unit_ids: number[] | null;
  boundary_barriers: BarrierRef[] | null; rationale: Rationale | null; geometry: Areal;
  created_at: string; created_by: string; zone_id: number | null; decision_reason: string;
  population_estimated: boolean; workers: number; rationale_text: RationaleText; superseded_by: number[] | null;
}

/** The runs of appRuns. */
export interface Run { id: number; at: string; created_at: string; created_by: string; params: unknown; proposals: number; open: number }

/** The properties of a building feature (appBuildingSQL). */
export interface BuildingProps {
  id: number; name: string; kind: string; address: string; compound: string; number: string;
  population: number; units: number; county_id: number; center: Position;
}
export type Building = Feature<Areal, BuildingProps>;

/** The properties of a barrier feature (appProposalBarriers). */
export interface BarrierProps { kind: string; class: string | null; name: string; shared_length_m: number }

/** postgis.ZoneFigures. */
export interface ZoneFigures { zone_id: number; version: number; population: number; staff_required: number; population_estimated: boolean }

/** zoning.NoticeZone. */
export interface NoticeZone { zone_id: number; version: number; name: string; level: string; status: string; change: string }

/** zoning.Notice: a published notice. */
export interface Notice {
  id: number; county_id: number; county: string; county_en: string; number: number; kind: string; status: string;
  title_zh: string; title_en: string; body_zh: string; body_en: string; effective_at: string; published_at: string;
  references_notice_id: number | null; cap_identifier: string; cap_msg_type: string; zones: NoticeZone[];
}

/** A notice of the preview: postgis.NoticePreview with the Atom entry. */
export interface NoticePreview extends Notice { cap_xml: string; figures: ZoneFigures[] | null; atom: string }
export interface NoticePreviewAnswer { county_id: number; notices: NoticePreview[] }

// ---- proposals and zones (server/expert.go, server/zones.go) ----------------------

/** The body of POST /proposals (an engine run). */
export interface ProposeBody { county_id: number; at?: string; params?: unknown }

/** A feature of zoning.WriteProposalGeoJSON: a draft or the low-risk remainder. */
export interface ProposalFeatureProps { kind: 'proposal' | 'low_risk_remainder'; level: string; proposal_id?: number }
export type ProposeAnswer = FeatureCollection<Areal, ProposalFeatureProps>;

/** zoning.MemberChange. */
export interface MemberChange { add_buildings?: number[]; remove_buildings?: number[] }

/** zoning.ApproveRequest. */
export interface ApproveBody extends MemberChange { reason: string; name?: string; level?: string; geometry?: Areal }

/** zoning.ProposalRecord, the parts the app reads. */
export interface ProposalRecord { id: number; run_id: number; status: string; supersedes: number | null; superseded_by: number[] | null }

/** The answer of POST /proposals/:id/enlarge and /shrink. */
export interface StepAnswer { proposals: ProposalRecord[] | null; superseded: number }

/** zoning.ZoneVersion. */
export interface ZoneVersion {
  zone_id: number; county_id: number; version: number; level: string; status: string; change: string; name: string;
  geometry: Areal; building_ids: number[]; unit_ids: number[] | null; population: number; staff_required: number; area_m2: number;
  rule_set_id: string; clock_start: string; clock_reason: string; earliest_lifting: string; valid_from: string; valid_to: string | null;
  author_id: number | null; author: string; reason: string; published_notice_id: number | null; population_estimated: boolean;
}

/** zoning.Zone: a zone with its current version. */
export interface Zone {
  id: number; county_id: number; proposal_id: number | null; parent_zone_ids: number[] | null;
  current_version: number; status: string; created_at: string; current: ZoneVersion;
}

/** A feature of GET /zones: a version's properties without the geometry. */
export type ZoneFeature = Feature<Areal, Omit<ZoneVersion, 'geometry'>>;
export interface ZoneCollection { type: 'FeatureCollection'; at?: string; features: ZoneFeature[] }

/** The answer of GET /zones/:id/versions. */
export interface VersionsAnswer { zone_id: number; versions: ZoneVersion[] }

/** zoning.Diff: two versions of a zone compared. */
export interface Diff {
  zone_id: number; from: number; to: number;
  buildings_added: number[]; buildings_removed: number[]; units_added: number[] | null; units_removed: number[] | null;
  population_from: number; population_to: number; population_delta: number;
  staff_required_from: number; staff_required_to: number;
  area_from_m2: number; area_to_m2: number; area_added_m2: number; area_removed_m2: number;
  clock_start_from: string; clock_start_to: string; status_from: string; status_to: string;
}

/** zoning.GeometryEdit. */
export interface GeometryEditBody { version: number; geometry: Areal; reason: string }
/** zoning.MembersEdit (PATCH /zones/:id/members). */
export interface MembersEditBody extends MemberChange { version: number; reason: string }

/** zoning.Screening: a screening round. */
export interface Screening {
  id: number; zone_id: number; round_date: string; population: number; tested: number; negatives: number; positives: number;
  recorded_by: number | null; recorded_at: string; zone_version?: number; zone_population?: number;
  partial_coverage: boolean; partial_reason?: string; population_estimated: boolean;
}

/** zoning.LiftingStatus: whether a zone may be lifted, and why. */
export interface LiftingStatus {
  zone_id?: number; version?: number; zone_status?: string; rule_set_id: string; clean_days: number; screening_required: boolean;
  today: string; last_infection: string; clock_reason: string; earliest_lifting: string; clean_streak_days: number;
  day_n_screening: Screening | null; day_n_covered_all: boolean; day_n_all_negative: boolean; eligible: boolean; reasons: string[] | null;
}

/** The answer of POST /zones/:id/screenings. */
export interface ScreeningAnswer { screening: Screening; lifting: LiftingStatus }

/** zoning.LiftRequest. */
export interface LiftBody { version?: number; reason: string; override?: boolean }

/** zoning.PublishRequest, the fields the app sends. */
export interface PublishBody { county_id: number; reason?: string }

/** zoning.ContactStep: a closed-loop step done. */
export interface ContactStep { step: string; done_at: string; done_by: string; note?: string }
/** zoning.DueStep: a step with its deadline. */
export interface DueStep { step: string; due_at: string }
/** zoning.Contact: a close or secondary contact with its closed loop (restricted). */
export interface Contact {
  id: number; contact_no: string; county_id: number; kind: 'close' | 'secondary'; case_id?: number; via_contact_id?: number;
  identified_at: string; last_exposure_date?: string; residence_unit_id?: number; residence_building_id?: number;
  residence_address?: string; residence_snap_m?: number; steps: ContactStep[]; site_id?: number; site_manual?: boolean;
  status: string; overdue: DueStep[]; next?: DueStep;
}
/** zoning.Site: a quarantine site with its load. */
export interface Site {
  id: number; county_id: number; name: string; address?: string; rooms: number; occupied: number; staff: number;
  lon: number; lat: number; active: boolean; updated_at: string; assigned: number; free: number;
}
/** zoning.CountyRooms: a county's rooms against the standard. */
export interface CountyRooms {
  county_id: number; residents: number; rooms_per_10k: number; rooms_required: number; rooms: number; free: number; staff: number; shortfall: number;
}
/** zoning.SiteOption: a site that can take contacts, and how far it is. */
export interface SiteOption extends Site { distance_m: number }
/** zoning.QuarantineNeed: what a zone asks of the quarantine sites. */
export interface QuarantineNeed {
  residents: number; staff_required: number; cases: number; contacts: number; placed: number; rooms_needed: number;
  expected_contacts: number; contacts_per_case: number; cases_without_contacts: number;
  site_staff_needed: number; rooms_per_staff: number; sites: SiteOption[] | null; free_rooms_nearby: number; rooms_shortfall: number;
}
/** zoning.Entrance: a way into a compound. */
export interface Entrance {
  id: number; compound_id: number | null; name?: string; kind: string; source: string; source_id?: string;
  lon: number; lat: number; state: 'open' | 'closed'; staff: number; updated_at: string;
}
/** zoning.CompoundLockdown. */
export interface CompoundLockdown {
  compound_id: number; name: string; bbox: [number, number, number, number]; buildings: number; residents: number; staff_required: number; entrances: Entrance[];
  open: number; closed: number; entrance_staff: number; unmanned: number[]; problems: string[]; problem_codes: string[];
}
/** postgis.AssignResult. */
export interface AssignAnswer { assigned: { contact_id: number; site_id: number; distance_m: number }[]; waiting: number[] }
