/**
 * Narrowing JSON from `unknown`, field by field. Remote services serialize nulls, disagree with
 * their own docs and sit behind proxies, so every reader tolerates a missing or mistyped field
 * instead of trusting a cast.
 */

export type JsonRecord = Record<string, unknown>;

export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asRecord(value: unknown): JsonRecord {
  return isRecord(value) ? value : {};
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function asString(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

export function asNumber(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return null;
}

export function asBoolean(value: unknown): boolean {
  return value === true || value === 'true';
}

/** A `{string: string}` map, also when it arrives JSON-encoded as a string (WESkit echoes form fields verbatim). */
export function asStringMap(value: unknown): Record<string, string> {
  let v = value;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v) as unknown;
    } catch {
      return {};
    }
  }
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(asRecord(v))) {
    const text = asString(item);
    if (text !== null) out[key] = text;
  }
  return out;
}

/**
 * An ISO 8601 time; one without a zone (Python's `isoformat()` on a naive datetime, as WESkit
 * writes) is taken as UTC rather than as the broker's local time.
 */
export function asIsoDate(value: unknown): Date | null {
  if (typeof value !== 'string' || value.trim() === '') return null;
  const text = value.trim();
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(text) || !/T\d/.test(text) ? text : `${text}Z`;
  const date = new Date(zoned);
  return Number.isNaN(date.getTime()) ? null : date;
}
