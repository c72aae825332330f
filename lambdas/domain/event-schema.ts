/**
 * The versioned input contract (`impression/MODEL-REVISION-ADDITION`, SchemaVer) as compiled JSON Schema.
 *
 * A registry maps every version this deployment accepts to its validator. An ADDITION (`1-0-1`) is a new
 * entry whose schema adds optional properties; the handler and the classifier do not change.
 */
import { _, Ajv, str as code, type ErrorObject, type KeywordCxt, type ValidateFunction } from 'ajv';
import { PROFILE_ID_PATTERN } from './profile-id.js';

export interface ImpressionEvent {
  readonly schema: string;
  readonly eventId: string;
  readonly eventTime: string;
  readonly profileId: string;
  readonly accountId: string;
  readonly sessionId: string;
  readonly device: {
    readonly type: DeviceType;
    readonly os?: string;
    readonly appVersion?: string;
    /** Since `impression/1-1-0`. */
    readonly locale?: string;
  };
  readonly country: string;
  readonly page: string;
  readonly row: { readonly index: number; readonly id: string; readonly type?: string };
  readonly position: number;
  readonly titleId: string;
  readonly entityId?: string;
  readonly artworkId: string;
  readonly trackId?: number;
  readonly visibility: { readonly percent: number; readonly durationMs: number };
  readonly context?: Readonly<Record<string, string>>;
}

export const DEVICE_TYPES = ['tv', 'mobile', 'tablet', 'web', 'console'] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];

const UUID = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
/** RFC 3339 with a zone and millisecond precision. Calendar validity is checked after the pattern. */
export const EVENT_TIME_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}(Z|[+-]\\d{2}:\\d{2})$';

/**
 * A string of 1 (or 0) to `max` characters, counted in Unicode code points as JSON Schema's minLength and
 * maxLength count them. `chars` is a keyword of this module with exactly those rules, but it counts code
 * points only when the UTF-16 length is over the limit, which valid data never is (UTF-16 units ≥ code
 * points, and a non-empty string has at least one code point). That keeps validation of a 1.2 KB event
 * near a microsecond.
 */
const str = (max: number, min: 0 | 1 = 1) => ({ type: 'string', chars: [min, max] });

/** JSON Schema of `impression/1-0-0`. Nested objects are closed too, so a typo never passes silently. */
export const IMPRESSION_1_0_0 = {
  $id: 'impression/1-0-0',
  type: 'object',
  additionalProperties: false,
  required: [
    'schema',
    'eventId',
    'eventTime',
    'profileId',
    'accountId',
    'sessionId',
    'device',
    'country',
    'page',
    'row',
    'position',
    'titleId',
    'artworkId',
    'visibility',
  ],
  properties: {
    schema: { type: 'string' },
    eventId: { type: 'string', pattern: UUID },
    eventTime: { type: 'string', pattern: EVENT_TIME_PATTERN },
    profileId: { type: 'string', pattern: PROFILE_ID_PATTERN },
    accountId: str(64),
    sessionId: str(128),
    device: {
      type: 'object',
      additionalProperties: false,
      required: ['type'],
      properties: { type: { type: 'string', enum: DEVICE_TYPES }, os: str(32, 0), appVersion: str(32, 0) },
    },
    country: { type: 'string', pattern: '^[A-Z]{2}$' },
    page: str(64),
    row: {
      type: 'object',
      additionalProperties: false,
      required: ['index', 'id'],
      properties: { index: { type: 'integer', minimum: 0, maximum: 999 }, id: str(128), type: str(64, 0) },
    },
    position: { type: 'integer', minimum: 0, maximum: 999 },
    titleId: str(64),
    entityId: str(64),
    artworkId: str(64),
    trackId: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    visibility: {
      type: 'object',
      additionalProperties: false,
      required: ['percent', 'durationMs'],
      properties: {
        percent: { type: 'integer', minimum: 0, maximum: 100 },
        durationMs: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
      },
    },
    context: {
      type: 'object',
      maxProperties: 64,
      propertyNames: { maxLength: 64 },
      additionalProperties: { type: 'string', chars: [0, 256] },
    },
  },
} as const;

/**
 * A BCP 47 language tag (RFC 5646) as the device reports its locale: `en-US`, `pt-BR`, `zh-Hant-TW`,
 * `x-private`. Well-formed syntax only (a primary subtag of 2 to 8 letters, or `x` for a private-use tag,
 * then subtags of 1 to 8 letters or digits, separated by `-`), not validity against the IANA registry, which
 * changes; at most 35 characters, the length RFC 5646 §4.4.1 asks every implementation to store.
 */
export const LOCALE_PATTERN = '^([A-Za-z]{2,8}|[xX])(-[A-Za-z0-9]{1,8})*$';

/**
 * JSON Schema of `impression/1-1-0`: an ADDITION of `impression/1-0-0`, the optional `device.locale`. Every
 * other rule is 1-0-0's, so an event valid under 1-0-0 with its `schema` changed is valid here.
 */
export const IMPRESSION_1_1_0 = {
  ...IMPRESSION_1_0_0,
  $id: 'impression/1-1-0',
  properties: {
    ...IMPRESSION_1_0_0.properties,
    device: {
      ...IMPRESSION_1_0_0.properties.device,
      properties: {
        ...IMPRESSION_1_0_0.properties.device.properties,
        locale: { type: 'string', chars: [2, 35], pattern: LOCALE_PATTERN },
      },
    },
  },
} as const;

export interface SchemaVersion {
  readonly id: string;
  readonly model: number;
  readonly validate: ValidateFunction<ImpressionEvent>;
}

const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: false, unicodeRegExp: false });
ajv.addKeyword({
  keyword: 'chars',
  type: 'string',
  schemaType: 'array',
  error: { message: ({ schema }) => code`must have ${String(schema[0])} to ${String(schema[1])} characters` },
  code(cxt: KeywordCxt) {
    const [min, max] = cxt.schema as [number, number];
    cxt.fail(
      _`${cxt.data}.length < ${min} || (${cxt.data}.length > ${max} && [...${cxt.data}].length > ${max})`,
    );
  },
});

/**
 * Every version this deployment accepts. Add `impression/1-2-0` here with its schema; the classifier does not
 * change (a new field also needs its column: docs/lake.md, "Schema evolution").
 */
export const SCHEMA_REGISTRY: ReadonlyMap<string, SchemaVersion> = new Map(
  [IMPRESSION_1_0_0, IMPRESSION_1_1_0].map((schema) => {
    const id = schema.$id;
    const model = Number(id.split('/')[1]?.split('-')[0]);
    return [id, { id, model, validate: ajv.compile<ImpressionEvent>(schema) }];
  }),
);

export type SchemaReasonKind =
  | 'schema.missing-field'
  | 'schema.wrong-type'
  | 'schema.out-of-range'
  | 'schema.unknown-field';

/**
 * A field path as the reason codes write it: `row.index`, `context.locale`; a key that is not a plain
 * identifier is quoted, `context["a b"]`, so a path never carries spaces, control characters or dots of
 * its own.
 */
function appendSegment(path: string, segment: string): string {
  if (/^[A-Za-z0-9_$-]+$/.test(segment)) return path ? `${path}.${segment}` : segment;
  return `${path}[${JSON.stringify(segment)}]`;
}

/**
 * Whether `text` is well-formed Unicode, no UTF-16 surrogate without its pair (the contract's rule for every
 * string field, revision 2026-12-02): the language's own `String.prototype.isWellFormed` (ES2024, Node 20).
 */
export const isWellFormed = (text: string): boolean => text.isWellFormed();

/**
 * The path of the first string (a value or a property name) of a schema-valid event that is not well-formed
 * Unicode, or undefined. Runs after the schema, whose closed objects bound the depth and size walked.
 */
export function malformedStringPath(value: unknown, path = ''): string | undefined {
  if (typeof value === 'string') return isWellFormed(value) ? undefined : path;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = malformedStringPath(value[i], `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [key, v] of Object.entries(value)) {
      const child = appendSegment(path, key);
      if (!isWellFormed(key)) return child;
      const found = malformedStringPath(v, child);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** The value at an ajv instance path (`/device/os`) of `root`, or undefined. */
function valueAt(root: unknown, instancePath: string): unknown {
  let v: unknown = root;
  for (const raw of instancePath.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/**
 * The reason of ajv's first error on `root`: a field whose value is a string that is not well-formed Unicode
 * is `schema.wrong-type` whatever rule (pattern, length) failed on it.
 */
export function reasonOfSchemaError(
  error: ErrorObject,
  root: unknown,
): { kind: SchemaReasonKind; path: string } {
  const reason = reasonOfAjvError(error);
  const v = valueAt(root, error.instancePath);
  return typeof v === 'string' && !isWellFormed(v)
    ? { kind: 'schema.wrong-type', path: reason.path }
    : reason;
}

/** Turns ajv's first error into the contract's reason code and the field path it names. */
export function reasonOfAjvError(error: ErrorObject): { kind: SchemaReasonKind; path: string } {
  const segments = error.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const base = segments.reduce(appendSegment, '');
  const join = (leaf: string) => appendSegment(base, leaf);
  switch (error.keyword) {
    case 'required':
      return { kind: 'schema.missing-field', path: join(String(error.params.missingProperty)) };
    case 'additionalProperties':
      return { kind: 'schema.unknown-field', path: join(String(error.params.additionalProperty)) };
    case 'type':
      return { kind: 'schema.wrong-type', path: base };
    case 'propertyNames':
      return { kind: 'schema.out-of-range', path: join(String(error.params.propertyName)) };
    default:
      // minimum, maximum, minLength, maxLength, maxProperties, pattern, enum: a value outside its domain.
      return { kind: 'schema.out-of-range', path: base };
  }
}
