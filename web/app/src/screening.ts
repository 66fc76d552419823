// The screening form's logic: a round records the people actually tested,
// never the zone's population (which may be the importer's estimate); the
// population is shown beside the field as a reference, marked when it is an
// estimate.
import { t } from './i18n';
import { fmt } from './ui';

/** popText writes a population, with "约" / "est." when it is an estimate. */
export function popText(n: number, estimated: boolean): string {
  return estimated ? t('popEstimated', { n: fmt(n) }) : fmt(n);
}

/** The form's fields as typed. */
export interface ScreeningFields { date: string; tested: string; negatives: string; positives: string }
/** The body of POST /zones/:id/screenings. */
export interface ScreeningBody { round_date: string; tested: number; negatives: number; positives: number }

function count(s: string): number | null | undefined {
  const v = s.trim();
  if (v === '') return undefined;
  if (!/^\d+$/.test(v)) return null;
  return Number(v);
}

/** readScreening checks the form: the number tested must be typed (a whole
 * number); positives default to 0 and negatives to tested − positives. It
 * answers the request body, or the message key of what is wrong. */
export function readScreening(f: ScreeningFields): { body: ScreeningBody } | { error: string } {
  const tested = count(f.tested), pos = count(f.positives), neg = count(f.negatives);
  if (tested === undefined) return { error: 'testedRequired' };
  if (tested === null || pos === null || neg === null) return { error: 'wholeNumbers' };
  const positives = pos ?? 0;
  const negatives = neg ?? tested - positives;
  if (negatives < 0 || negatives + positives > tested) return { error: 'resultsExceedTested' };
  return { body: { round_date: f.date, tested, negatives, positives } };
}
