/**
 * Strict readers of a function's settings from an environment: the function's own `process.env` at cold
 * start, or an explicit map (a tool reading a deployed function's settings from its template, with the very
 * reader the function runs). They keep the rules of Powertools' env helpers
 * (`@aws-lambda-powertools/commons/utils/env`: values trimmed, a missing one refused, booleans `true` or
 * `false`), which cannot be used here because they read `process.env` only.
 * None has a default: a setting that is missing, empty where a value is needed, or malformed throws an error
 * that names it, so the cold start fails with its name. The defaults of every setting live in
 * `infra/config.ts` only.
 */

/** Environment variables by name, as `process.env` holds them. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** A setting that may be empty (e.g. an empty list). */
export function textSetting(key: string, env: Environment = process.env): string {
  const v = env[key];
  if (v === undefined) throw new Error(`Environment variable ${key} is required`);
  return v.trim();
}

/** A setting that must hold a value (a resource name or ARN). */
export function nameSetting(key: string, env: Environment = process.env): string {
  const v = textSetting(key, env);
  if (!v) throw new Error(`Environment variable ${key} must not be empty`);
  return v;
}

/** A whole number ≥ `min`, written in decimal digits only (`1e3`, `12.0` and `-1` are refused). */
export function integerSetting(key: string, min = 1, env: Environment = process.env): number {
  const raw = textSetting(key, env);
  const v = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(v) || v < min)
    throw new Error(`Environment variable ${key} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
  return v;
}

/** A finite decimal number within [min, max]. */
export function numberSetting(
  key: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
  env: Environment = process.env,
): number {
  const raw = textSetting(key, env);
  const v = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || v < min || v > max)
    throw new Error(
      `Environment variable ${key} must be a number in [${min}, ${max}], got ${JSON.stringify(raw)}`,
    );
  return v;
}

/** `true` or `false` (any case); a missing one is refused with the same words as a malformed one, as Powertools does. */
export function booleanSetting(key: string, env: Environment = process.env): boolean {
  const v = env[key]?.trim().toLowerCase();
  if (v !== 'true' && v !== 'false') throw new Error(`Environment variable ${key} must be a boolean`);
  return v === 'true';
}

/** A comma-separated list (may be empty). */
export const listSetting = (key: string, env: Environment = process.env): string[] =>
  textSetting(key, env).split(',').filter(Boolean);

/** How a list is written into a setting (the inverse of `listSetting`). */
export const listValue = (values: readonly string[]): string => values.join(',');

/** How one setting is read from its environment variable and written into it. */
export interface SettingKind<T> {
  readonly read: (key: string, env: Environment) => T;
  readonly write: (value: T) => string;
}

/** The kinds of setting a function takes, each reader paired with its writer. */
export const SETTING = {
  /** A resource name or ARN: not empty. */
  name: { read: nameSetting, write: (v: string) => v } satisfies SettingKind<string>,
  /** A whole number ≥ `min`. */
  integer: (min = 1): SettingKind<number> => ({
    read: (k, env) => integerSetting(k, min, env),
    write: String,
  }),
  /** A decimal number within [min, max]. */
  number: (min: number, max?: number): SettingKind<number> => ({
    read: (k, env) => numberSetting(k, min, max, env),
    write: String,
  }),
  boolean: { read: booleanSetting, write: String } satisfies SettingKind<boolean>,
  /** A list of values without commas (may be empty). */
  list: { read: (k, env): readonly string[] => listSetting(k, env), write: listValue } satisfies SettingKind<
    readonly string[]
  >,
} as const;

/** A setting's declaration: its environment variable and its kind. */
export interface SettingDeclaration<T> {
  readonly env: string;
  readonly kind: SettingKind<T>;
}

/** Declarations of any kinds (a kind's writer takes only its own values, hence `never` here). */
type Declarations = Readonly<
  Record<
    string,
    {
      readonly env: string;
      readonly kind: {
        readonly read: (key: string, env: Environment) => unknown;
        readonly write: (value: never) => string;
      };
    }
  >
>;

/** The values a set of declarations describes: each setting's value is what its kind reads. */
export type SettingValues<D extends Declarations> = {
  readonly [K in keyof D]: ReturnType<D[K]['kind']['read']>;
};

/**
 * A function's settings, declared once: from the declarations come the environment variable names, the
 * environment the stack writes (`environment`) and the strict reader the function runs at cold start
 * (`read`, in the order declared: a missing or malformed setting throws, naming its variable), which a tool
 * runs on the deployed function's environment.
 */
export function declareSettings<D extends Declarations>(declarations: D) {
  const entries = Object.entries(declarations) as [keyof D & string, D[keyof D]][];
  return {
    declarations,
    /** The environment variable of each setting. */
    env: Object.fromEntries(entries.map(([k, d]) => [k, d.env])) as { readonly [K in keyof D]: string },
    /** The function's environment for these values. */
    environment(values: SettingValues<D>): Record<string, string> {
      return Object.fromEntries(
        entries.map(([k, d]) => [d.env, d.kind.write((values as Record<string, unknown>)[k] as never)]),
      );
    },
    /** The values, read from `env` (the function's `process.env` unless given). */
    read(env: Environment = process.env): SettingValues<D> {
      return Object.fromEntries(entries.map(([k, d]) => [k, d.kind.read(d.env, env)])) as SettingValues<D>;
    },
  };
}
