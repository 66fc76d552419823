// The small helpers every panel uses: DOM lookup and escaping, numbers in
// the current language, the signed-in role, the toast, and the side
// panel's render, message and error guard.
import { getLang, t } from './i18n';
import { ApiError } from './api';
import { errorText } from './errors';
import { S, setBusy, setMsg, type MsgKind, type Tab } from './store';

export const $ = <T extends HTMLElement = HTMLElement>(sel: string, root: ParentNode = document) => root.querySelector(sel) as T;
export const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
export const fmt = (n: number) => Number(n ?? 0).toLocaleString(getLang() === 'zh' ? 'zh-CN' : 'en');
export const role = () => S.me?.role ?? 'public';
export const isExpert = () => role() === 'expert' || role() === 'admin';
export const isPublisher = () => role() === 'publisher' || role() === 'admin';

/** The side panel's tabs for the signed-in role. */
export function tabs(): Tab[] {
  const out: Tab[] = [];
  if (isExpert()) out.push('proposals', 'zone', 'history', 'loop');
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

/** What a panel's bind gets: handlers on its elements, and its fields' values. */
export interface Binder {
  /** on sets the click handler of every element matching sel. */
  on(sel: string, fn: (el: HTMLElement) => void): void;
  /** change sets the change handler of every input matching sel. */
  change(sel: string, fn: (el: HTMLInputElement) => void): void;
  /** val is the trimmed value of the field with id ('' when absent). */
  val(id: string): string;
}

/** A panel of the side bar: its HTML, then its handlers once it is in the page. */
export interface Panel { render(): string; bind(b: Binder): void }

// The side panel and the sign-in form are main.ts's; panels call them through these.
const hooks = { renderSide: () => {}, showLogin: (_err?: string) => {} };
export function setHooks(h: typeof hooks) { Object.assign(hooks, h); }
export function renderSide() { hooks.renderSide(); }

/** say shows a message in the side panel. */
export function say(kind: MsgKind, text: string) { setMsg(kind, text); renderSide(); }

/** guard runs fn, saying what went wrong; an expired session shows the sign-in form. */
export async function guard(fn: () => Promise<void>) {
  try {
    setBusy(true);
    await fn();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) { hooks.showLogin(); return; }
    say('err', errorText(e));
  } finally {
    setBusy(false);
  }
}

/** inputValue is the trimmed value of the field matching sel ('' when absent). */
export const inputValue = (sel: string) => ($<HTMLInputElement>(sel)?.value ?? '').trim();
