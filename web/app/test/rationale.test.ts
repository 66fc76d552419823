import { describe, it, expect } from 'vitest';
import { rationaleSentences, rationaleList, population } from '../src/rationale';
import { setLang } from '../src/i18n';

const p = {
  rationale: { rules: ['case_of_unknown_source', 'cases_in_2_units'] },
  rationale_text: {
    zh: ['本区涉及3例计入病例、2栋楼、4个单元、0个高风险场所。', '同一楼栋2个单元有病例，整栋楼划为高风险区。'],
    en: ['The zone holds 3 counted cases, 2 buildings, 4 units and 0 high-risk places.', 'Cases live in 2 units of one building, so the whole building is high-risk.'],
  },
};

describe('rationale', () => {
  it('shows the sentences in the user language, not rule ids', () => {
    setLang('en');
    const html = rationaleList(p);
    expect(html).toContain('Cases live in 2 units of one building');
    expect(html).not.toContain('cases_in_2_units');
    setLang('zh');
    expect(rationaleList(p)).toContain('同一楼栋2个单元有病例');
    expect(rationaleSentences(p, 'en')[0]).toContain('3 counted cases');
  });
  it('escapes and falls back to Chinese, and to nothing', () => {
    expect(rationaleSentences({ rationale_text: { zh: ['<b>x</b>'] } }, 'en')).toEqual(['<b>x</b>']);
    expect(rationaleList({ rationale_text: { zh: ['<b>x</b>'] } })).toContain('&lt;b&gt;');
    expect(rationaleList({})).toBe('');
    expect(rationaleSentences({ rationale: { text: { en: ['From the rationale'] } } }, 'en')).toEqual(['From the rationale']);
  });
  it('marks estimated populations', () => {
    setLang('zh');
    expect(population(1200, true)).toMatch(/^约 1,?200$/);
    setLang('en');
    expect(population(1200, true)).toMatch(/^est\. 1,?200$/);
    expect(population(1200, false)).not.toContain('est');
    setLang('zh');
  });
});
