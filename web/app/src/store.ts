// The expert app's one store: what is loaded and selected, and the only
// functions that change it. Everything else reads S (read-only to the
// type checker); each change goes through a named update below, so every
// write to the state is in this file.
import { History } from './history';
import { defaultZoneFilter, type ZoneFilter } from './zonefilter';
import type { Areal } from './geom';
import type {
  CompoundLockdown, ConflictBody, Contact, County, CountyRooms, Diff, LiftingStatus, Me, Notice, NoticePreviewAnswer, Proposal, QuarantineNeed,
  Site, Zone, ZoneCollection, ZoneVersion,
} from './api_types';

/** What is being edited: a zone (version-checked) or a proposal (approve with edits). */
export interface Target {
  kind: 'zone' | 'proposal'; id: number; version: number; name: string; buildingIDs: ReadonlySet<number>; geometry: Areal;
  /** Rings terra-draw refused to load: the boundary must not be saved from the editor (it would drop them). */
  refused?: string;
}
/** One state of the editor; the history holds these. */
export interface Draft { add: number[]; remove: number[]; geom: Areal | null }
/** A stale-version answer while saving, the reason typed, and the other version once fetched. */
export interface Conflict extends ConflictBody { reason: string; theirs?: Zone }

export type Tab = 'proposals' | 'zone' | 'history' | 'loop' | 'layers' | 'publish';
export type Tool = 'none' | 'buildings' | 'vertex' | 'draw' | 'hole';
export type MsgKind = 'ok' | 'err' | 'warn';
/** The engine's last run, shown in the current language: running, or its id and proposals. */
export type RunInfo = null | 'running' | { run: number | string; n: number };
/** The closed-loop panel: overdue contacts, the county's sites, and the selected zone's need and compounds. */
export interface Loop {
  overdue: number; contacts: Contact[]; summary: CountyRooms | null; sites: Site[];
  need: QuarantineNeed | null; compounds: CompoundLockdown[]; zone: number;
  /** the proposal whose need is shown when no zone is selected */
  proposal: number;
}
/** The layer groups of the layers panel (layers.ts), each on or off. */
export type LayerName = 'zones' | 'published' | 'proposals' | 'buildings' | 'roads' | 'water' | 'railways' | 'ridges' | 'walls' | 'admin' | 'spread' | 'cases';

export interface State {
  me: Me | null;
  counties: County[];
  county: number;
  tab: Tab;
  proposals: Proposal[];
  selProposal: Proposal | null;
  /** the zones of the county on the map (GET /zones) */
  zones: ZoneCollection | null;
  zone: Zone | null;
  lifting: LiftingStatus | null;
  versions: ZoneVersion[];
  diff: Diff | null;
  target: Target | null;
  tool: Tool;
  msg: { kind: MsgKind; text: string } | null;
  conflict: Conflict | null;
  preview: NoticePreviewAnswer | null;
  publishResult: Notice[] | null;
  asOf: string;
  runInfo: RunInfo;
  busy: boolean;
  /** the zones drawn, by level and status (layers panel) */
  zoneFilter: ZoneFilter;
  layers: Record<LayerName, boolean>;
  loop: Loop;
}

/** initialState is the state before sign-in. */
export function initialState(): State {
  return {
    me: null, counties: [], county: 0, tab: 'proposals', proposals: [], selProposal: null, zones: null, zone: null, lifting: null,
    versions: [], diff: null, target: null, tool: 'none', msg: null, conflict: null, preview: null, publishResult: null, asOf: '',
    runInfo: null, busy: false, zoneFilter: defaultZoneFilter(),
    loop: { overdue: 0, contacts: [], summary: null, sites: [], need: null, compounds: [], zone: 0, proposal: 0 },
    layers: { zones: true, published: false, proposals: true, buildings: true, roads: true, water: true, railways: true, ridges: true, walls: true, admin: true, spread: false, cases: false },
  };
}

// Read-only all the way down, except inside arrays: a readonly tuple would
// not pass where the API's types (a geometry's coordinates) are expected.
type DeepReadonly<T> = T extends ReadonlySet<infer U> ? ReadonlySet<U> : T extends readonly unknown[] ? T : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

const state: State = initialState();
/** S is the state, read-only: change it with the functions below. */
export const S: DeepReadonly<State> = state;

/** The editor's undo/redo history. */
export const history = new History<Draft>({ add: [], remove: [], geom: null });

// ---- updates ----------------------------------------------------------------------

/** setSession starts a session: who is signed in, the first tab, and whether the map shows the published zones. */
export function setSession(me: Me, tab: Tab, published: boolean) {
  state.me = me; state.tab = tab; state.layers = { ...state.layers, published };
}
/** setCounties gives the counties of the picker and the one chosen. */
export function setCounties(counties: County[], county: number) { state.counties = counties; state.county = county; }
/** setCounty chooses the county; a notice preview of the last one is dropped. */
export function setCounty(id: number) { state.county = id; state.preview = null; }
export function setTab(tab: Tab) { state.tab = tab; }
export function setMsg(kind: MsgKind, text: string) { state.msg = { kind, text }; }
export function clearMsg() { state.msg = null; }
export function setBusy(b: boolean) { state.busy = b; }
export function setAsOf(v: string) { state.asOf = v; }
export function setRunInfo(r: RunInfo) { state.runInfo = r; }

export function setProposals(list: Proposal[]) { state.proposals = list; }
export function setSelProposal(p: Proposal | null) { state.selProposal = p; }

export function setZones(fc: ZoneCollection) { state.zones = fc; }
/** setZone shows one zone with its lifting status and versions; a diff of another is dropped. */
export function setZone(z: Zone, lifting: LiftingStatus | null, versions: ZoneVersion[]) {
  state.zone = z; state.lifting = lifting; state.versions = versions; state.diff = null;
}
export function setLifting(l: LiftingStatus | null) { state.lifting = l; }
export function setDiff(d: Diff | null) { state.diff = d; }

/** setTarget starts (or with null ends) an edit; a conflict of the last one is dropped. */
export function setTarget(tg: Target | null) { state.target = tg; state.conflict = null; }
/** updateTarget changes the edit in place: the zone version it is based on, or the rings refused. */
export function updateTarget(patch: Partial<Pick<Target, 'version' | 'buildingIDs' | 'refused'>>) {
  if (state.target) state.target = { ...state.target, ...patch };
}
export function setTool(tool: Tool) { state.tool = tool; }
export function setConflict(c: Conflict | null) { state.conflict = c; }
export function setTheirs(z: Zone) { if (state.conflict) state.conflict = { ...state.conflict, theirs: z }; }

export function setPreview(p: NoticePreviewAnswer | null) { state.preview = p; state.publishResult = null; }
export function setPublished(list: Notice[]) { state.publishResult = list; state.preview = null; }

export function setLayer(name: LayerName, on: boolean) { state.layers = { ...state.layers, [name]: on }; }
export function setZoneLevel(level: string, on: boolean) { state.zoneFilter = { ...state.zoneFilter, levels: { ...state.zoneFilter.levels, [level]: on } }; }
export function setZoneStatus(status: string, on: boolean) { state.zoneFilter = { ...state.zoneFilter, statuses: { ...state.zoneFilter.statuses, [status]: on } }; }

/** setLoop changes the closed-loop panel's data. */
export function setLoop(patch: Partial<Loop>) { state.loop = { ...state.loop, ...patch }; }

/** reset puts the state back as before sign-in (for tests). */
export function reset() { Object.assign(state, initialState()); history.reset({ add: [], remove: [], geom: null }); }
