import { clampDescription, MAX_DESCRIPTION_LENGTH } from '../outcome';

/** How many issues a dead-letter description spells out before summarising the rest as `(+N more)`. */
export const MAX_DESCRIBED_ISSUES = 10;

/** Longest user value (or property name) echoed back in an issue, so a description never carries the body. */
const MAX_ECHO = 40;

/** A short, safe rendering of a received value for an issue message: strings quoted and capped, others by type. */
export function describeValue(value: unknown): string {
    if (typeof value === 'string') return quoteCapped(value);
    if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
    if (value === null) return 'null';
    if (value === undefined) return 'nothing';
    return Array.isArray(value) ? 'an array' : `an ${typeof value}`;
}

/** A property name as shown in an issue path: plain names as they are, anything odd quoted and capped. */
export function describeKey(key: string): string {
    return /^[A-Za-z0-9_@.$-]{1,40}$/.test(key) ? key : quoteCapped(key);
}

function quoteCapped(text: string): string {
    // Cap before quoting, so escapes cannot multiply a long value; then cap the quoted form again.
    const cut = text.length > MAX_ECHO;
    const quoted = JSON.stringify(cut ? text.slice(0, MAX_ECHO) : text);
    return quoted.length > MAX_ECHO + 2 ? `${quoted.slice(0, MAX_ECHO + 1)}…"` : cut ? `${quoted.slice(0, -1)}…"` : quoted;
}

/**
 * The dead-letter description for a list of issues: the first ten joined with `; `, then `(+N more)`.
 * Issues are dropped from the spelled-out part (and counted in N) if they would push it past 1024 characters.
 */
export function describeIssues(issues: readonly string[]): string {
    let text = '';
    let shown = 0;
    for (const issue of issues) {
        if (shown === MAX_DESCRIBED_ISSUES) break;
        const next = shown === 0 ? issue : `${text}; ${issue}`;
        const rest = issues.length - shown - 1;
        // Keep room for the longest possible suffix so the count always survives.
        if (next.length + (rest > 0 ? ` (+${rest} more)`.length : 0) > MAX_DESCRIPTION_LENGTH) break;
        text = next;
        shown += 1;
    }
    const more = issues.length - shown;
    return clampDescription(more > 0 ? `${text}${text === '' ? '' : ' '}(+${more} more)` : text);
}
