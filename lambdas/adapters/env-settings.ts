/**
 * Strict readers of a function's settings from its environment, on top of Powertools' env helpers
 * (`@aws-lambda-powertools/commons/utils/env`). None has a default: a setting that is missing, empty where
 * a value is needed, or malformed throws an error that names it, so the cold start fails with its name.
 * The defaults of every setting live in `infra/config.ts` only.
 */
import { getBooleanFromEnv, getStringFromEnv } from '@aws-lambda-powertools/commons/utils/env';

/** A setting that may be empty (e.g. an empty list). */
export const textSetting = (key: string): string => getStringFromEnv({ key });

/** A setting that must hold a value (a resource name or ARN). */
export function nameSetting(key: string): string {
  const v = textSetting(key);
  if (!v) throw new Error(`Environment variable ${key} must not be empty`);
  return v;
}

/** A whole number ≥ `min`, written in decimal digits only (`1e3`, `12.0` and `-1` are refused). */
export function integerSetting(key: string, min = 1): number {
  const raw = textSetting(key);
  const v = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(v) || v < min)
    throw new Error(`Environment variable ${key} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
  return v;
}

/** A finite decimal number within [min, max]. */
export function numberSetting(key: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = textSetting(key);
  const v = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || v < min || v > max)
    throw new Error(
      `Environment variable ${key} must be a number in [${min}, ${max}], got ${JSON.stringify(raw)}`,
    );
  return v;
}

/** `true` or `false`. */
export const booleanSetting = (key: string): boolean => getBooleanFromEnv({ key });

/** A comma-separated list (may be empty). */
export const listSetting = (key: string): string[] => textSetting(key).split(',').filter(Boolean);

/** How a list is written into a setting (the inverse of `listSetting`). */
export const listValue = (values: readonly string[]): string => values.join(',');
