// The side panel: the role's tabs, the message of the last action, and the
// panel of the tab chosen, which draws itself and binds its handlers.
import { t } from './i18n';
import { S, clearMsg, setTab, type Tab } from './store';
import { $, esc, guard, tabs, type Binder, type Panel } from './ui';
import { proposalsPanel } from './panel_proposals';
import { zonePanel } from './panel_zone';
import { historyPanel } from './panel_history';
import { layersPanel } from './panel_layers';
import { publishPanel } from './panel_publish';
import { loadLoop, loopPanel } from './panel_loop';

const panels: Record<Tab, Panel> = { proposals: proposalsPanel, zone: zonePanel, history: historyPanel, loop: loopPanel, layers: layersPanel, publish: publishPanel };
const isTab = (s: string | undefined): s is Tab => s !== undefined && s in panels;

/** renderSide draws the side panel from the store. */
export function renderSide() {
  const side = $('#side');
  const msg = S.msg ? `<div class="msg ${S.msg.kind}" role="alert" data-testid="msg">${esc(S.msg.text)}</div>` : '';
  const panel = panels[S.tab];
  side.innerHTML = `<nav class="tabs" role="tablist">${tabs().map((x) => `<button role="tab" data-tab="${x}" aria-selected="${x === S.tab}">${esc(t('tab.' + x))}${badge(x)}</button>`).join('')}</nav>
    <section class="panel">${msg}${panel.render()}</section><div class="kbd">${esc(t('shortcuts'))}</div>`;
  side.querySelectorAll<HTMLButtonElement>('[data-tab]').forEach((b) => (b.onclick = () => {
    if (isTab(b.dataset.tab)) setTab(b.dataset.tab);
    clearMsg();
    renderSide();
    if (S.tab === 'loop') void guard(loadLoop);
  }));
  panel.bind(binder(side));
}

/** badge is the count of overdue closed-loop steps beside the tab that lists them. */
function badge(tab: Tab): string {
  return tab === 'loop' && S.loop.overdue > 0 ? ` <span class="badge" data-testid="overdue-badge">${S.loop.overdue}</span>` : '';
}

function binder(side: HTMLElement): Binder {
  return {
    on: (sel, fn) => side.querySelectorAll<HTMLElement>(sel).forEach((el) => (el.onclick = () => fn(el))),
    change: (sel, fn) => side.querySelectorAll<HTMLInputElement>(sel).forEach((el) => (el.onchange = () => fn(el))),
    val: (id) => (side.querySelector<HTMLInputElement>('#' + id)?.value ?? '').trim(),
  };
}
