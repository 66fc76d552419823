import { describe, it, expect } from 'vitest';
// Every module of the app (the panels live beside main.ts).
const sources = import.meta.glob('../src/*.ts', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;
const mainSource = Object.values(sources).join('\n');
import { strings, t, setLang } from '../src/i18n';

describe('i18n', () => {
  it('has every key in both languages, none empty', () => {
    const zh = Object.keys(strings.zh).sort();
    const en = Object.keys(strings.en).sort();
    expect(en).toEqual(zh);
    for (const l of ['zh', 'en'] as const) for (const k of zh) expect(strings[l][k].trim(), `${l}.${k}`).not.toBe('');
  });
  it('has every key the app uses', () => {
    const src: string = mainSource;
    const used = new Set<string>();
    for (const m of src.matchAll(/\bt\('([\w.]+)'/g)) if (!m[1].endsWith('.')) used.add(m[1]);
    expect(used.size).toBeGreaterThan(50);
    const missing = [...used].filter((k) => !(k in strings.zh));
    expect(missing).toEqual([]);
    // keys built at run time from a prefix: each value the app can produce
    for (const k of ['tab.proposals', 'tab.zone', 'tab.history', 'tab.layers', 'tab.publish', 'level.high', 'status.active', 'status.lifted',
      'role.expert', 'role.publisher', 'role.admin', 'layer.zones', 'layer.spread']) expect(strings.zh[k], k).toBeTruthy();
  });
  it('names every layer toggle, barriers one per kind', () => {
    const block = /const layerGroups[^=]*= \{([\s\S]*?)\n\};/.exec(mainSource as string);
    expect(block, 'layerGroups in the app').toBeTruthy();
    const groups = [...block![1].matchAll(/^\s+(\w+):/gm)].map((m) => m[1]);
    for (const k of ['roads', 'water', 'railways', 'ridges', 'walls', 'admin', 'spread']) expect(groups).toContain(k);
    for (const g of groups) expect(strings.zh['layer.' + g], 'layer.' + g).toBeTruthy();
  });
  it('fills placeholders and switches language', () => {
    setLang('en');
    expect(t('saved', { v: 3 })).toBe('Saved as version 3');
    setLang('zh');
    expect(t('saved', { v: 3 })).toBe('已保存为第 3 版');
  });
});
