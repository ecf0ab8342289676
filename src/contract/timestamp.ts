/**
 * RFC 3339 date-times, normalised to UTC without losing digits. `Date` keeps only milliseconds while Graph
 * stores 7 fractional digits (`2021-07-11T01:02:33.4452876Z`), so the offset arithmetic is done here on whole
 * minutes and the seconds and fraction are carried over as text.
 */

/** The accepted shape: full date, `T` (or `t`), time with 1–7 fractional digits, and an explicit offset. */
export const TIMESTAMP_PATTERN = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,7})?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/** What Graph may hand back: any fraction length, and (defensively) no offset, meaning UTC. */
const INSTANT_PATTERN = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:[Zz]|([+-])(\d{2}):?(\d{2}))?$/;

const MINUTES_PER_DAY = 1440;

interface Instant {
    /** Whole minutes since 1970-01-01T00:00Z. */
    readonly minutes: number;
    readonly second: number;
    readonly fraction: string;
}

/**
 * Normalise an RFC 3339 date-time to `YYYY-MM-DDTHH:MM:SS[.f{1,7}]Z` in UTC, keeping the fraction exactly as
 * given. Returns undefined when the text is not an RFC 3339 date-time with an offset (TIMESTAMP_PATTERN), names
 * a date or time that does not exist, or falls outside the years 0001–9999 once converted to UTC.
 */
export function normaliseTimestamp(text: string): string | undefined {
    // A character scan rather than TIMESTAMP_PATTERN's captures: this runs twice per message on the hot path.
    const fields = scanTimestamp(text);
    if (fields === undefined || !isReal(fields)) return undefined;
    // The common case (already UTC, upper-case letters) is returned as given, without re-formatting.
    if (fields.offset === 0) {
        if (fields.year < 1) return undefined;
        if (text.charCodeAt(10) === 0x54 && text.charCodeAt(text.length - 1) === 0x5a) return text;
    }
    const instant = instantOf(fields);
    return instant === undefined ? undefined : formatInstant(instant);
}

/** Why `normaliseTimestamp` refused the text: a short phrase for an issue message. Only called on failure. */
export function timestampProblem(text: string): string {
    if (!TIMESTAMP_PATTERN.test(text)) {
        if (/^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}\.\d{8,}/.test(text)) return 'must have at most 7 fractional digits';
        if (/^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?$/.test(text)) return 'must have an explicit offset (Z or ±hh:mm)';
        return 'must be an RFC 3339 date-time with an offset, like 2021-07-11T01:02:33.4452876Z';
    }
    const fields = scanTimestamp(text);
    if (fields === undefined || !isReal(fields)) return 'must be a real calendar date and time';
    return 'must fall within the years 0001–9999 in UTC';
}

/**
 * Compare two instants exactly, including every fractional digit. Accepts normalised timestamps, any RFC 3339
 * date-time, and Graph's own output (a missing offset is read as UTC). Throws a RangeError for anything else.
 */
export function compareInstants(a: string, b: string): -1 | 0 | 1 {
    const left = parseInstant(a);
    const right = parseInstant(b);
    const seconds = left.minutes * 60 + left.second - (right.minutes * 60 + right.second);
    if (seconds !== 0) return seconds < 0 ? -1 : 1;
    // Same second: compare the fractions digit by digit, the shorter one padded with zeros.
    const width = Math.max(left.fraction.length, right.fraction.length);
    const l = left.fraction.padEnd(width, '0');
    const r = right.fraction.padEnd(width, '0');
    return l === r ? 0 : l < r ? -1 : 1;
}

function parseInstant(text: string): Instant {
    const match = INSTANT_PATTERN.exec(text);
    const fields = match === null ? undefined : fieldsOfMatch(match);
    const instant = fields === undefined || !isReal(fields) ? undefined : instantOf(fields);
    if (instant === undefined) {
        const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
        throw new RangeError(`Not an RFC 3339 date-time: ${JSON.stringify(shown)}`);
    }
    return instant;
}

interface Fields {
    readonly year: number;
    readonly month: number;
    readonly day: number;
    readonly hour: number;
    readonly minute: number;
    readonly second: number;
    /** The fractional digits without the dot, possibly empty. */
    readonly fraction: string;
    /** The offset as a signed ±hhmm number (e.g. -530 for -05:30), checked by isReal. */
    readonly offset: number;
}

/** Exactly the strings TIMESTAMP_PATTERN matches (a property test holds the two together), split into fields. */
function scanTimestamp(text: string): Fields | undefined {
    const length = text.length;
    if (length < 20 || length > 33) return undefined;
    const century = twoDigits(text, 0);
    const yearOfCentury = twoDigits(text, 2);
    const month = twoDigits(text, 5);
    const day = twoDigits(text, 8);
    const hour = twoDigits(text, 11);
    const minute = twoDigits(text, 14);
    const second = twoDigits(text, 17);
    if ((century | yearOfCentury | month | day | hour | minute | second) < 0) return undefined;
    const t = text.charCodeAt(10);
    if (text.charCodeAt(4) !== 0x2d || text.charCodeAt(7) !== 0x2d || (t !== 0x54 && t !== 0x74)) return undefined;
    if (text.charCodeAt(13) !== 0x3a || text.charCodeAt(16) !== 0x3a) return undefined;
    let at = 19;
    let fraction = '';
    if (text.charCodeAt(at) === 0x2e) {
        let end = at + 1;
        while (end < length && isDigit(text.charCodeAt(end))) end += 1;
        if (end === at + 1 || end > at + 8) return undefined;
        fraction = text.slice(at + 1, end);
        at = end;
    }
    const zone = text.charCodeAt(at);
    let offset = 0;
    if (zone === 0x5a || zone === 0x7a) {
        if (at + 1 !== length) return undefined;
    } else if (zone === 0x2b || zone === 0x2d) {
        const offsetHour = twoDigits(text, at + 1);
        const offsetMinute = twoDigits(text, at + 4);
        if ((offsetHour | offsetMinute) < 0 || text.charCodeAt(at + 3) !== 0x3a || at + 6 !== length) return undefined;
        offset = (offsetHour * 100 + offsetMinute) * (zone === 0x2d ? -1 : 1);
    } else {
        return undefined;
    }
    return { year: century * 100 + yearOfCentury, month, day, hour, minute, second, fraction, offset };
}

function isDigit(code: number): boolean {
    return code >= 0x30 && code <= 0x39;
}

/** The two-digit number at `at`, or -1. */
function twoDigits(text: string, at: number): number {
    const tens = text.charCodeAt(at);
    const units = text.charCodeAt(at + 1);
    return isDigit(tens) && isDigit(units) ? (tens - 0x30) * 10 + units - 0x30 : -1;
}

/** Groups of INSTANT_PATTERN: 1 year, 2 month, 3 day, 4 hour, 5 minute, 6 second, 7 fraction, 8 sign, 9/10 offset. */
function fieldsOfMatch(match: RegExpExecArray): Fields {
    const sign = match[8];
    const offset = sign === undefined ? 0 : Number(match[9]) * 100 + Number(match[10]);
    return {
        year: Number(match[1]),
        month: Number(match[2]),
        day: Number(match[3]),
        hour: Number(match[4]),
        minute: Number(match[5]),
        second: Number(match[6]),
        fraction: match[7] === undefined ? '' : match[7].slice(1),
        offset: sign === '-' ? -offset : offset,
    };
}

/** Leap seconds (:60) are refused: Graph's DateTimeOffset cannot hold them. */
function isReal(fields: Fields): boolean {
    const { year, month, day, hour, minute, second } = fields;
    const offset = Math.abs(fields.offset);
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return false;
    return hour <= 23 && minute <= 59 && second <= 59 && Math.floor(offset / 100) <= 23 && offset % 100 <= 59;
}

function instantOf(fields: Fields): Instant | undefined {
    const offset = Math.abs(fields.offset);
    const offsetMinutes = (Math.floor(offset / 100) * 60 + (offset % 100)) * Math.sign(fields.offset);
    const minutes = daysFromCivil(fields.year, fields.month, fields.day) * MINUTES_PER_DAY + fields.hour * 60 + fields.minute - offsetMinutes;
    const year = offsetMinutes === 0 ? fields.year : civilFromDays(Math.floor(minutes / MINUTES_PER_DAY))[0];
    if (year < 1 || year > 9999) return undefined;
    return { minutes, second: fields.second, fraction: fields.fraction };
}

function formatInstant(instant: Instant): string {
    const days = Math.floor(instant.minutes / MINUTES_PER_DAY);
    const minuteOfDay = instant.minutes - days * MINUTES_PER_DAY;
    const [year, month, day] = civilFromDays(days);
    const time = `${pad2(Math.floor(minuteOfDay / 60))}:${pad2(minuteOfDay % 60)}:${pad2(instant.second)}`;
    const fraction = instant.fraction === '' ? '' : `.${instant.fraction}`;
    return `${String(year).padStart(4, '0')}-${pad2(month)}-${pad2(day)}T${time}${fraction}Z`;
}

function pad2(n: number): string {
    return n < 10 ? `0${n}` : String(n);
}

function daysInMonth(year: number, month: number): number {
    if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
    return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

// Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's algorithms), valid for year 0 too,
// where Date.UTC would read years 0–99 as 1900–1999.
function daysFromCivil(year: number, month: number, day: number): number {
    const y = month <= 2 ? year - 1 : year;
    const era = Math.floor(y / 400);
    const yearOfEra = y - era * 400;
    const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
    const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
    return era * 146097 + dayOfEra - 719468;
}

function civilFromDays(days: number): [year: number, month: number, day: number] {
    const z = days + 719468;
    const era = Math.floor(z / 146097);
    const dayOfEra = z - era * 146097;
    const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36524) - Math.floor(dayOfEra / 146096)) / 365);
    const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
    const mp = Math.floor((5 * dayOfYear + 2) / 153);
    const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
    const month = mp < 10 ? mp + 3 : mp - 9;
    return [yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day];
}
