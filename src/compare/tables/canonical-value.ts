import { createHash } from 'node:crypto';

/**
 * The canonical text of a value: what a row's checksum is computed over, identical on SQLite,
 * MariaDB/MySQL and PostgreSQL for the same value whatever type each engine keeps it in. The
 * server engines compute it in SQL (checksum-sql.ts); SQLite, which has no md5 and whose
 * stored types are whatever was inserted, computes it here in functions registered on its
 * connection. Both must agree character for character.
 *
 * - NULL stays NULL (the row text marks it with NULL_MARK).
 * - integers: decimal digits; booleans: '1' / '0'.
 * - decimals: without trailing fractional zeros ('12.3400' and 12.34 are both '12.34'; '12.0000' is '12').
 * - dates 'YYYY-MM-DD'; timestamps 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC for zoned types,
 *   without trailing fractional zeros.
 * - text as it is (compared byte for byte, whatever the column's collation); binary as lowercase hex.
 */
export type ColumnKind = 'integer' | 'decimal' | 'float' | 'boolean' | 'date' | 'timestamp' | 'binary' | 'text';

/** Separates the columns of a row's text; a NULL column is NULL_MARK. */
export const FIELD_SEPARATOR = '\x1f';
export const NULL_MARK = '\x1e';

export function trimDecimal(text: string): string {
  let s = text.trim();
  if (s.startsWith('+')) s = s.slice(1);
  if (s.includes('.') && !/e/i.test(s)) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return s === '-0' ? '0' : s;
}

function numberText(n: number, scale: number | undefined): string {
  if (Number.isInteger(n)) return Object.is(n, -0) ? '0' : String(n);
  // A decimal stored as a double: rounded to the scale the other side declares, or at its shortest.
  return trimDecimal(scale !== undefined && scale >= 0 && scale <= 100 && Math.abs(n) < 1e21 ? n.toFixed(scale) : String(n));
}

export function normalizeTimestamp(text: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(text.trim());
  if (!m) return text;
  const [, date, hh = '00', mi = '00', ss = '00', frac = '', zone] = m;
  if (zone && !/^(Z|[+-]00(:?00)?)$/i.test(zone)) {
    const utc = new Date(`${date}T${hh}:${mi}:${ss}${frac.slice(0, 4)}${/^[+-]\d{2}$/.test(zone) ? `${zone}:00` : zone}`);
    if (!Number.isNaN(utc.getTime())) return normalizeTimestamp(utc.toISOString());
  }
  const fraction = frac.replace(/0+$/, '');
  return `${date} ${hh}:${mi}:${ss}${fraction === '.' ? '' : fraction}`;
}

export function canonicalValue(value: unknown, kind: ColumnKind, scale?: number): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (value instanceof Date) {
    const iso = value.toISOString();
    return kind === 'date' ? iso.slice(0, 10) : normalizeTimestamp(iso);
  }
  if (value instanceof Uint8Array) return kind === 'text' ? Buffer.from(value).toString('utf8') : Buffer.from(value).toString('hex');
  switch (kind) {
    case 'integer':
    case 'decimal':
    case 'float':
      if (typeof value === 'bigint') return value.toString();
      if (typeof value === 'number') return kind === 'float' ? String(value) : numberText(value, scale);
      return kind === 'float' ? String(value) : /^\s*[+-]?(\d+\.?\d*|\.\d+)\s*$/.test(String(value)) ? trimDecimal(String(value)) : String(value);
    case 'boolean': {
      const s = String(value).toLowerCase();
      return s === '1' || s === 't' || s === 'true' ? '1' : s === '0' || s === 'f' || s === 'false' ? '0' : String(value);
    }
    case 'date': {
      const s = String(value);
      return /^\d{4}-\d{2}-\d{2}/.test(s) ? s.slice(0, 10) : s;
    }
    case 'timestamp':
      return typeof value === 'string' ? normalizeTimestamp(value) : String(value);
    case 'binary':
      return Buffer.from(String(value), 'utf8').toString('hex');
    default:
      return String(value);
  }
}

/** The text a row's checksum is taken over: its columns' canonical texts in a fixed order. */
export function rowText(values: readonly (string | null)[]): string {
  return values.map((v) => v ?? NULL_MARK).join(FIELD_SEPARATOR);
}

/** The first 64 bits of the row text's MD5, as the server engines take them (an unsigned integer). */
export function rowHash(text: string): bigint {
  return BigInt(`0x${createHash('md5').update(text, 'utf8').digest('hex').slice(0, 16)}`);
}
