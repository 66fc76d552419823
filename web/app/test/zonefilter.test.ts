import { describe, expect, it } from 'vitest';
import { defaultZoneFilter, zoneFilterExpr, zoneStatusQuery } from '../src/zonefilter';

describe('zone filter', () => {
  it('draws every level of the zones in force by default, from the default query', () => {
    const f = defaultZoneFilter();
    expect(zoneFilterExpr(f)).toEqual(['all', ['in', ['get', 'level'], ['literal', ['high', 'medium', 'low']]],
      ['in', ['get', 'status'], ['literal', ['active']]]]);
    expect(zoneStatusQuery(f)).toBe('');
  });
  it('drops a level and asks for every status once lifted zones are wanted', () => {
    const f = defaultZoneFilter();
    f.levels.medium = false;
    f.statuses.lifted = true;
    expect(zoneFilterExpr(f)).toEqual(['all', ['in', ['get', 'level'], ['literal', ['high', 'low']]],
      ['in', ['get', 'status'], ['literal', ['active', 'lifted']]]]);
    expect(zoneStatusQuery(f)).toBe('all');
    f.statuses.active = false;
    expect(zoneStatusQuery(f)).toBe('all');
  });
});
