/** The list query options the stand-in understands: `$top`, `$filter` on tenantId, `$select`, `$count`, `$skiptoken`. */
import { entityProperties, entityTypeName, type BodyProblem } from './entity';

const defaultPageSize = 100;
const maxPageSize = 999;
const filterPattern = /^\s*tenantId\s+eq\s+'((?:[^']|'')*)'\s*$/i;
const selectable = new Set<string>(entityProperties);
const unsupportedFilter = "Invalid filter clause: only tenantId eq '…' is supported.";

export interface ListState {
    offset: number;
    top: number;
    tenantId?: string;
    select?: string[];
    count?: boolean;
}

export function encodeSkipToken(state: ListState): string {
    return Buffer.from(JSON.stringify(state)).toString('base64url');
}

function decodeSkipToken(token: string): ListState | undefined {
    try {
        const state = JSON.parse(Buffer.from(token, 'base64url').toString()) as Partial<ListState>;
        if (typeof state.offset !== 'number' || typeof state.top !== 'number') return undefined;
        return state as ListState;
    } catch {
        return undefined;
    }
}

export function parseSelect(value: string): string[] | { problem: BodyProblem } {
    const names = value.split(',').map((s) => s.trim());
    const unknown = names.find((n) => !selectable.has(n));
    if (unknown !== undefined) {
        return { problem: { code: 'BadRequest', message: `Could not find a property named '${unknown}' on type '${entityTypeName}'.` } };
    }
    return names;
}

export function listState(query: string): ListState | { problem: BodyProblem } {
    const state: ListState = { offset: 0, top: defaultPageSize };
    if (query === '') return state;
    let skipToken: string | undefined;
    for (const [name, value] of new URLSearchParams(query)) {
        switch (name) {
            case '$top': {
                const top = /^\d+$/.test(value) ? Number(value) : NaN;
                if (!(top >= 1 && top <= maxPageSize)) {
                    const message = `Invalid value '${value.slice(0, 20)}' for query option '$top'; use 1 to ${maxPageSize}.`;
                    return { problem: { code: 'BadRequest', message } };
                }
                state.top = top;
                break;
            }
            case '$filter': {
                const match = filterPattern.exec(value);
                if (!match) return { problem: { code: 'BadRequest', message: unsupportedFilter } };
                state.tenantId = (match[1] ?? '').replace(/''/g, "'");
                break;
            }
            case '$select': {
                const select = parseSelect(value);
                if (!Array.isArray(select)) return select;
                state.select = select;
                break;
            }
            case '$count':
                state.count = value.toLowerCase() === 'true';
                break;
            case '$skiptoken':
                skipToken = value;
                break;
            default:
                if (name.startsWith('$')) return { problem: { code: 'BadRequest', message: `Query option '${name}' is not supported.` } };
        }
    }
    if (skipToken === undefined) return state;
    // The token carries the whole query of the first page, as Graph's opaque next links do.
    const resumed = decodeSkipToken(skipToken);
    return resumed ?? { problem: { code: 'BadRequest', message: 'The $skiptoken is invalid or has expired.' } };
}
