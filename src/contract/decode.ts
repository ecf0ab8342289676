/**
 * Turning a Service Bus message body, in whatever form the host delivered it, into a validated aggregate or a
 * dead-letter verdict. Never throws: every failure is a `DecodeResult` with a stable reason code.
 */
import * as v from 'valibot';
import { aggregateSchema, isJsonObject, MAX_BODY_BYTES, type ComplianceAggregate } from './aggregate';
import { tryFastPath } from './fast-path';
import { describeIssues } from './issues';

export type DecodeResult =
    | { readonly ok: true; readonly aggregate: ComplianceAggregate }
    | {
          readonly ok: false;
          readonly reason: 'MalformedBody' | 'SchemaViolation' | 'MessageTooLarge';
          readonly description: string;
          /** Every issue as `path: message` (body-level issues have no path). */
          readonly issues: readonly string[];
      };

type DecodeFailure = Extract<DecodeResult, { ok: false }>;

const NOT_AN_OBJECT = 'body must be a JSON object';
const utf8 = new TextDecoder('utf-8', { fatal: true });
const collectAllIssues = { abortEarly: false } as const;

/** Decode a body delivered as a Buffer/Uint8Array/ArrayBuffer, a string, or an already-parsed value. */
export function decodeAggregate(body: unknown): DecodeResult {
    try {
        if (typeof body === 'string') return decodeText(body);
        if (body instanceof Uint8Array) return decodeBytes(body);
        if (body instanceof ArrayBuffer) return decodeBytes(new Uint8Array(body));
        if (body === undefined) return failure('MalformedBody', ['body is empty']);
        return validateAggregate(body);
    } catch {
        // Defensive: nothing above is expected to throw, but a host could hand us an exotic object (a Proxy).
        return failure('MalformedBody', ['body could not be read']);
    }
}

/** Validate an already-parsed value (one JSON line of the CLI, or a body the host parsed). */
export function validateAggregate(value: unknown): DecodeResult {
    if (isJsonObject(value)) {
        const aggregate = tryFastPath(value);
        if (aggregate !== undefined) return { ok: true, aggregate };
    }
    return validateWithSchema(value);
}

/** The valibot route alone; `validateAggregate` must always agree with it. */
export function validateWithSchema(value: unknown): DecodeResult {
    const result = v.safeParse(aggregateSchema, value, collectAllIssues);
    if (result.success) return { ok: true, aggregate: result.output };
    return failure('SchemaViolation', result.issues.map(issueText));
}

function decodeBytes(bytes: Uint8Array): DecodeResult {
    if (bytes.byteLength > MAX_BODY_BYTES) return tooLarge(bytes.byteLength);
    if (bytes.byteLength >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
        return failure('MalformedBody', ['body is UTF-16 (it starts with a UTF-16 byte order mark); send UTF-8']);
    }
    let text: string;
    try {
        // Also drops a leading UTF-8 byte order mark.
        text = utf8.decode(bytes);
    } catch {
        return failure('MalformedBody', ['body is not valid UTF-8']);
    }
    return parseText(text);
}

function decodeText(text: string): DecodeResult {
    // A UTF-16 unit takes 1–3 UTF-8 bytes, so only mid-sized strings need counting.
    if (text.length > MAX_BODY_BYTES) return tooLarge(Buffer.byteLength(text, 'utf8'));
    if (text.length * 3 > MAX_BODY_BYTES) {
        const bytes = Buffer.byteLength(text, 'utf8');
        if (bytes > MAX_BODY_BYTES) return tooLarge(bytes);
    }
    return parseText(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
}

function parseText(text: string): DecodeResult {
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch (error) {
        if (text.trim() === '') return failure('MalformedBody', [text === '' ? 'body is empty' : 'body is only whitespace']);
        return failure('MalformedBody', [`body is not valid JSON (${capped((error as Error).message, 100)})`]);
    }
    return typeof value === 'string' ? validateDoubleEncoded(value) : validateAggregate(value);
}

/** `@azure/service-bus` JavaScript producers handed a pre-serialised string send it JSON-encoded once more. */
function validateDoubleEncoded(text: string): DecodeResult {
    if (/^\s*\{/.test(text)) {
        try {
            const inner: unknown = JSON.parse(text);
            if (isJsonObject(inner)) return validateAggregate(inner);
        } catch {
            // Not JSON inside: reported below like any other string body.
        }
    }
    return failure('SchemaViolation', [`${NOT_AN_OBJECT} (got a JSON string)`]);
}

function issueText(issue: v.BaseIssue<unknown>): string {
    const path = v.getDotPath(issue);
    return path === null ? issue.message : `${path}: ${issue.message}`;
}

function tooLarge(bytes: number): DecodeResult {
    return failure('MessageTooLarge', [`body is ${bytes} bytes; the limit is ${MAX_BODY_BYTES} bytes`]);
}

function failure(reason: DecodeFailure['reason'], issues: readonly string[]): DecodeFailure {
    // Valibot may report one field twice (two failed checks with one message); say it once.
    const unique = [...new Set(issues)];
    return { ok: false, reason, description: describeIssues(unique), issues: unique };
}

function capped(text: string, max: number): string {
    return text.length > max ? `${text.slice(0, max)}…` : text;
}
