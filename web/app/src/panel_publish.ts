// The publish panel: preview the notices publishing the county would write
// now (zh and en text, the zones' figures, CAP and Atom), then publish.
import { t } from './i18n';
import * as api from './client';
import { S, clearMsg, setPreview, setPublished } from './store';
import { esc, fmt, guard, renderSide, type Binder, type Panel } from './ui';
import { popText } from './screening';
import { refreshPublished } from './mapview';

function render(): string {
  const p = S.preview;
  let body = '';
  if (p) {
    body = p.notices.length === 0 ? `<p class="muted" data-testid="nothing-pending">${esc(t('nothingPending'))}</p>` : p.notices.map((n) => `<div class="card" data-testid="notice-preview">
      <div class="t">${esc(n.title_zh)}</div><div class="muted">${esc(n.kind)} · CAP ${esc(n.cap_msg_type)}</div>
      ${(n.figures ?? []).map((f) => `<div class="muted" data-testid="preview-figures">#${f.zone_id} v${f.version} · ${esc(t('population'))} <span${f.population_estimated ? ` title="${esc(t('estimatedHint'))}"` : ''}>${esc(popText(f.population, !!f.population_estimated))}</span> · ${esc(t('staff'))} ${fmt(f.staff_required)}</div>`).join('')}
      <h3>${esc(t('noticeZh'))}</h3><pre class="doc" data-testid="body-zh">${esc(n.body_zh)}</pre>
      <h3>${esc(t('noticeEn'))}</h3><div class="t">${esc(n.title_en)}</div><pre class="doc" data-testid="body-en">${esc(n.body_en)}</pre>
      <h3>${esc(t('cap'))}</h3><pre class="doc" data-testid="cap">${esc(n.cap_xml)}</pre>
      <h3>${esc(t('atom'))}</h3><pre class="doc" data-testid="atom">${esc(n.atom)}</pre></div>`).join('') +
      `<label class="f">${esc(t('reason'))}<input id="pubReason"></label><button class="primary" id="publishNow" data-testid="publish-now">${esc(t('publishNow'))}</button>`;
  }
  const done = S.publishResult ? `<div class="msg ok" data-testid="published">${esc(t('published', { ids: S.publishResult.map((n) => '#' + n.id).join(', ') }))}
    <br><a href="/counties/${S.county}" target="_blank" rel="noopener">${esc(t('publicPage'))}</a></div>` : '';
  return `<h2>${esc(t('publish'))}</h2><button id="preview" data-testid="preview">${esc(t('preview'))}</button>${done}${body}`;
}

function bind(b: Binder) {
  b.on('#preview', () => guard(async () => {
    setPreview(await api.app.noticePreview(S.county));
    clearMsg();
    renderSide();
  }));
  b.on('#publishNow', () => guard(async () => {
    const reason = b.val('pubReason');
    const res = await api.notices.publish({ county_id: S.county, reason: reason || undefined });
    setPublished(res.notices);
    clearMsg();
    renderSide();
    refreshPublished();
  }));
}

export const publishPanel: Panel = { render, bind };
