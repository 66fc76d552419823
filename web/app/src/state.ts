// Shared state of the expert app: what is loaded and selected, the
// editor's history, and the small helpers every panel uses.
import { getLang } from './i18n';
import { History } from './history';
import { defaultZoneFilter } from './zonefilter';
import type { Areal } from './geom';


export interface Me { user: { id: number; username: string; display_name: string } | null; role: string; csrf_token?: string }
export interface County { id: number; name: string; name_en: string; bbox: [number, number, number, number] }

/** What is being edited: a zone (version-checked) or a proposal (approve with edits). */
export interface Target {
  kind: 'zone' | 'proposal'; id: number; version: number; name: string; buildingIDs: Set<number>; geometry: Areal;
  /** Rings terra-draw refused to load: the boundary must not be saved from the editor (it would drop them). */
  refused?: string;
}
/** One state of the editor; the history holds these. */
export interface Draft { add: number[]; remove: number[]; geom: Areal | null }

export type Tab = 'proposals' | 'zone' | 'history' | 'layers' | 'publish';
export type Tool = 'none' | 'buildings' | 'vertex' | 'draw' | 'hole';

export const S = {
  me: null as Me | null,
  counties: [] as County[],
  county: 0,
  tab: 'proposals' as Tab,
  proposals: [] as any[],
  selProposal: null as any,
  zone: null as any, // GET /zones/:id
  lifting: null as any,
  versions: [] as any[],
  diff: null as any,
  target: null as Target | null,
  tool: 'none' as Tool,
  msg: null as { kind: 'ok' | 'err' | 'warn'; text: string } | null,
  conflict: null as any,
  preview: null as any,
  publishResult: null as any,
  asOf: '',
  // the engine's last run, shown in the current language: running, or its id and proposals
  runInfo: null as null | 'running' | { run: number | string; n: number },
  busy: false,
  // the zones drawn, by level and status (layers panel)
  zoneFilter: defaultZoneFilter(),
  layers: { zones: true, published: false, proposals: true, buildings: true, roads: true, water: true, railways: true, ridges: true, walls: true, admin: true, spread: false, cases: false } as Record<string, boolean>,
};
export const history = new History<Draft>({ add: [], remove: [], geom: null });
export const footprints = new Map<number, any>(); // building id -> GeoJSON feature

export const $ = <T extends HTMLElement = HTMLElement>(sel: string, root: ParentNode = document) => root.querySelector(sel) as T;
export const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
export const role = () => S.me?.role ?? 'public';
export const isExpert = () => role() === 'expert' || role() === 'admin';
export const isPublisher = () => role() === 'publisher' || role() === 'admin';
export const fmt = (n: number) => Number(n ?? 0).toLocaleString(getLang() === 'zh' ? 'zh-CN' : 'en');

/** The side panel's tabs for the signed-in role. */
export function tabs(): Tab[] {
  const out: Tab[] = [];
  if (isExpert()) out.push('proposals', 'zone', 'history');
  out.push('layers');
  if (isPublisher()) out.push('publish');
  return out;
}

/** A short message at the bottom of the screen for a few seconds. */
let toastTimer: ReturnType<typeof setTimeout> | undefined;
export function toast(text: string) {
  const el = $('#toast');
  el.textContent = text;
  el.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove('show'), 4000);
}
