/** Every setting's lowest and highest allowed value, from its declaration (SETTINGS in infra/config.ts). */
import {
  type DeepPartial,
  type ListRule,
  type SettingRule,
  type StageConfig,
  settings,
} from '../../infra/config.js';

/** The largest valid list of a list rule: as many entries as its count and its character limit allow. */
function longestList(rule: ListRule): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < rule.maxItems; i++) {
    const next = [...out, rule.sample(i, false)];
    if (rule.maxChars && next.join(',').length > rule.maxChars.chars) break;
    out.push(rule.sample(i, false));
  }
  return out;
}

/** The lowest and highest allowed value of a setting. */
export function bounds(rule: SettingRule): { low: unknown; high: unknown } {
  switch (rule.type) {
    case 'boolean':
      return { low: false, high: true };
    case 'enum':
      return { low: rule.values[0], high: rule.values.at(-1) };
    case 'list':
      return { low: [], high: longestList(rule) };
    default:
      return { low: rule.min, high: rule.max };
  }
}

/** Overrides setting every setting to its low (or high) bound, except those that change what the stage is. */
export function everyBound(which: 'low' | 'high'): DeepPartial<StageConfig> {
  const out: Record<string, unknown> = {};
  for (const s of settings()) {
    if (s.path === 'emulator' || s.path === 'omitted') continue;
    const v = bounds(s.rule)[which];
    let node = out;
    const keys = s.path.split('.');
    for (const k of keys.slice(0, -1)) {
      node[k] ??= {};
      node = node[k] as Record<string, unknown>;
    }
    node[keys.at(-1)!] = v;
  }
  return out as DeepPartial<StageConfig>;
}
