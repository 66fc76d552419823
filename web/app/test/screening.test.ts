import { describe, it, expect } from 'vitest';
import { readScreening, popText } from '../src/screening';
import { setLang } from '../src/i18n';

describe('screening form', () => {
  const f = (tested: string, negatives = '', positives = '') => readScreening({ date: '2022-11-25', tested, negatives, positives });
  it('asks for the number actually tested', () => {
    expect(f('')).toEqual({ error: 'testedRequired' });
    expect(f('  ')).toEqual({ error: 'testedRequired' });
  });
  it('keeps the count entered, not the zone population', () => {
    expect(f('212', '212', '0')).toEqual({ body: { round_date: '2022-11-25', tested: 212, negatives: 212, positives: 0 } });
    expect(f('212')).toEqual({ body: { round_date: '2022-11-25', tested: 212, negatives: 212, positives: 0 } });
    expect(f('212', '', '3')).toEqual({ body: { round_date: '2022-11-25', tested: 212, negatives: 209, positives: 3 } });
  });
  it('refuses what is not a whole count, and results beyond the tested', () => {
    expect(f('12.5')).toEqual({ error: 'wholeNumbers' });
    expect(f('-1')).toEqual({ error: 'wholeNumbers' });
    expect(f('10', 'x')).toEqual({ error: 'wholeNumbers' });
    expect(f('10', '9', '2')).toEqual({ error: 'resultsExceedTested' });
    expect(f('10', '', '11')).toEqual({ error: 'resultsExceedTested' });
  });
  it('marks an estimated population', () => {
    setLang('zh');
    expect(popText(1234, true)).toBe('约1,234');
    expect(popText(1234, false)).toBe('1,234');
    setLang('en');
    expect(popText(1234, true)).toBe('est. 1,234');
    setLang('zh');
  });
});
