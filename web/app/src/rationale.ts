// A proposal's rationale for people: the sentences the server renders in
// the user's language (rationale_text.zh / .en), never raw rule ids; and
// populations marked when they hold estimates.
import { t, getLang } from './i18n';
import { esc, fmt } from './ui';
import type { RationaleText } from './api_types';

/** What the sentences are read from: a proposal (rationale_text) or its rationale (text). */
export interface WithRationale { rationale_text?: Partial<RationaleText> | null; rationale?: { rules?: string[]; text?: Partial<RationaleText> } | null }

export function rationaleSentences(p: WithRationale, lang = getLang()): string[] {
  const text = p?.rationale_text ?? p?.rationale?.text;
  const list: unknown = text?.[lang] ?? text?.zh;
  return Array.isArray(list) ? list.filter((s): s is string => typeof s === 'string' && s.trim() !== '') : [];
}

export function rationaleList(p: WithRationale): string {
  const items = rationaleSentences(p);
  if (items.length === 0) return '';
  return `<ul class="rationale" data-testid="rationale">${items.map((s) => `<li>${esc(s)}</li>`).join('')}</ul>`;
}

// population writes a population, "约 1,234" / "est. 1,234" when estimated.
export function population(n: number, estimated: boolean): string {
  return estimated ? `${t('est')} ${fmt(n)}` : fmt(n);
}
