import { randomUUID } from 'node:crypto';

import type { GraphConfig } from '../config';
import { ConfigurationError, ensureError } from '../errors';
import type { Logger } from '../log';
import { type BearerTokenSource, TokenUnavailableError } from './token';

/**
 * A thin fetch-based Microsoft Graph client. The Graph SDKs refuse to attach tokens to plain-http stand-ins and
 * retry POSTs on their own (shared notes §3, §9); here retry decisions belong to the writer.
 */

export type GraphMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface GraphRequest {
    readonly method: GraphMethod;
    /** Relative to the API version, starting with '/', e.g. `/tenantRelationships/managedTenants/…`. */
    readonly path: string;
    readonly body?: unknown;
    readonly signal?: AbortSignal;
}

/** Graph's error body `{ error: { code, message, innerError } }` (some services spell it `innererror`). */
export interface GraphErrorBody {
    readonly code: string;
    readonly message: string;
    readonly innerError?: Readonly<Record<string, unknown>>;
}

/** Why no HTTP status arrived. `aborted` means the caller's signal fired, not our own timeout. */
export type NetworkErrorKind = 'timeout' | 'reset' | 'refused' | 'dns' | 'aborted' | 'other';

export interface GraphResponse {
    /** 0 when the request failed before a status arrived; see `networkError`. */
    readonly status: number;
    readonly headers: Headers;
    readonly body: unknown;
    /** Graph's `request-id` response header (or the one inside the error body). */
    readonly requestId?: string;
    readonly clientRequestId: string;
    readonly error?: GraphErrorBody;
    readonly networkError?: NetworkErrorKind;
    /** Low-level error text for network failures (no secrets: it never contains headers). */
    readonly networkErrorMessage?: string;
}

export interface GraphBatchRequest {
    readonly id: string;
    readonly method: GraphMethod;
    /** Relative and without the version, e.g. `/tenantRelationships/managedTenants/aggregatedPolicyCompliances`. */
    readonly url: string;
    readonly body?: unknown;
    readonly headers?: Readonly<Record<string, string>>;
}

export interface GraphBatchItem {
    readonly id: string;
    readonly status: number;
    readonly headers: Readonly<Record<string, string>>;
    readonly body: unknown;
    readonly error?: GraphErrorBody;
}

export interface GraphBatchResult {
    /** The `$batch` envelope itself; a 200 here says nothing about the items. */
    readonly response: GraphResponse;
    /** Per-item responses keyed by the request id as sent (Graph may answer out of order). */
    readonly items: ReadonlyMap<string, GraphBatchItem>;
}

export interface GraphClient {
    /** Never rejects for HTTP or network failures; rejects with `TokenUnavailableError` when no token can be had. */
    request(request: GraphRequest): Promise<GraphResponse>;
    /** `POST /$batch` with at most 20 sub-requests. */
    batch(requests: readonly GraphBatchRequest[], options?: { signal?: AbortSignal }): Promise<GraphBatchResult>;
}

export const MAX_BATCH_REQUESTS = 20;

export function createGraphClient(deps: {
    config: Pick<GraphConfig, 'baseUrl' | 'apiVersion' | 'timeoutMs' | 'insecureLoopback'>;
    tokens: BearerTokenSource;
    logger: Logger;
}): GraphClient {
    const { config, tokens, logger } = deps;
    const base = parseBaseUrl(config.baseUrl, config.insecureLoopback);
    const root = `${base}/${config.apiVersion}`;

    async function request(req: GraphRequest): Promise<GraphResponse> {
        const clientRequestId = randomUUID();
        const timeout = AbortSignal.timeout(config.timeoutMs);
        const signal = req.signal ? AbortSignal.any([timeout, req.signal]) : timeout;
        let token: string;
        try {
            token = await tokens.getToken(signal);
        } catch (err) {
            // The caller giving up is a cancellation. Running out of time while the identity endpoint keeps failing
            // or stalling is the identity's fault, and operators should see it as such (a systemic TokenUnavailable).
            if (req.signal?.aborted) return networkFailure(err, clientRequestId, timeout, req.signal);
            if (timeout.aborted && !(err instanceof TokenUnavailableError)) {
                throw new TokenUnavailableError('Graph', new Error(`no token within GRAPH_TIMEOUT_MS (${config.timeoutMs} ms)`));
            }
            throw err;
        }
        const headers: Record<string, string> = {
            authorization: `Bearer ${token}`,
            'client-request-id': clientRequestId,
            accept: 'application/json',
        };
        if (req.body !== undefined) headers['content-type'] = 'application/json';
        const started = Date.now();
        let result: GraphResponse;
        try {
            const res = await fetch(`${root}${req.path}`, {
                method: req.method,
                headers,
                signal,
                ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
            });
            // The signal also bounds reading the body, so a server that stalls mid-body times out too.
            const body = parseJson(await res.text());
            const error = parseGraphError(body);
            const innerRequestId = error?.innerError?.['request-id'];
            const requestId = res.headers.get('request-id') ?? (typeof innerRequestId === 'string' ? innerRequestId : undefined);
            result = {
                status: res.status,
                headers: res.headers,
                body,
                clientRequestId,
                ...(requestId ? { requestId } : {}),
                ...(error ? { error } : {}),
            };
        } catch (err) {
            result = networkFailure(err, clientRequestId, timeout, req.signal);
        }
        logger.log('debug', 'graph.request', {
            method: req.method,
            path: req.path,
            status: result.status,
            networkError: result.networkError,
            graphRequestId: result.requestId,
            clientRequestId,
            durationMs: Date.now() - started,
        });
        return result;
    }

    async function batch(requests: readonly GraphBatchRequest[], options: { signal?: AbortSignal } = {}): Promise<GraphBatchResult> {
        validateBatch(requests, config.apiVersion);
        const response = await request({
            method: 'POST',
            path: '/$batch',
            body: {
                requests: requests.map((r) => ({
                    id: r.id,
                    method: r.method,
                    url: r.url,
                    // Graph requires Content-Type on every sub-request that has a body.
                    ...(r.body !== undefined
                        ? { headers: { 'Content-Type': 'application/json', ...r.headers }, body: r.body }
                        : r.headers
                          ? { headers: r.headers }
                          : {}),
                })),
            },
            ...(options.signal ? { signal: options.signal } : {}),
        });
        const items = new Map<string, GraphBatchItem>();
        const sentIds = new Map(requests.map((r) => [r.id.toLowerCase(), r.id]));
        const raw = isRecord(response.body) && Array.isArray(response.body.responses) ? (response.body.responses as unknown[]) : [];
        for (const entry of raw) {
            if (!isRecord(entry) || typeof entry.status !== 'number') continue;
            // Ids are case-insensitive in Graph's batch protocol.
            const id = sentIds.get(String(entry.id).toLowerCase());
            if (id === undefined) continue;
            const error = parseGraphError(entry.body);
            items.set(id, {
                id,
                status: entry.status,
                headers: stringRecord(entry.headers),
                body: entry.body,
                ...(error ? { error } : {}),
            });
        }
        return { response, items };
    }

    return { request, batch };
}

/**
 * Milliseconds to wait from a `Retry-After` header (fractional seconds such as `2.128`, or an HTTP-date).
 * Accepts fetch `Headers` or the plain header object of a `$batch` item. Undefined when absent or unparsable.
 */
export function retryAfterMs(headers: Headers | Readonly<Record<string, string>>, now: number = Date.now()): number | undefined {
    const value = headers instanceof Headers ? headers.get('retry-after') : headerValue(headers, 'retry-after');
    if (value == null) return undefined;
    const text = value.trim();
    if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000);
    const at = Date.parse(text);
    return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function parseBaseUrl(baseUrl: string, insecureLoopback: boolean): string {
    let url: URL;
    try {
        url = new URL(baseUrl);
    } catch {
        throw new ConfigurationError([`Graph base URL '${baseUrl}' is not an absolute URL`]);
    }
    // A bearer token must never travel in clear text, except to a local stand-in the operator opted into.
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && insecureLoopback)) {
        throw new ConfigurationError([`Graph base URL must use https (got '${url.protocol}'); plain http is only for loopback stand-ins`]);
    }
    return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function validateBatch(requests: readonly GraphBatchRequest[], apiVersion: string): void {
    if (requests.length === 0 || requests.length > MAX_BATCH_REQUESTS) {
        throw new RangeError(`a Graph batch holds 1 to ${MAX_BATCH_REQUESTS} requests, got ${requests.length}`);
    }
    const ids = new Set<string>();
    for (const r of requests) {
        const id = r.id.toLowerCase();
        if (!id || ids.has(id)) throw new RangeError(`batch request ids must be non-empty and unique (case-insensitive): '${r.id}'`);
        ids.add(id);
        if (!r.url.startsWith('/') || r.url.startsWith(`/${apiVersion}/`)) {
            throw new RangeError(`batch request urls are relative and without the version: '${r.url}'`);
        }
    }
}

function networkFailure(err: unknown, clientRequestId: string, timeout: AbortSignal, callerSignal: AbortSignal | undefined): GraphResponse {
    return {
        status: 0,
        headers: new Headers(),
        body: undefined,
        clientRequestId,
        networkError: classifyNetworkError(err, timeout, callerSignal),
        networkErrorMessage: describeNetworkError(err),
    };
}

function classifyNetworkError(err: unknown, timeout: AbortSignal, callerSignal: AbortSignal | undefined): NetworkErrorKind {
    if (timeout.aborted) return 'timeout';
    if (callerSignal?.aborted) return 'aborted';
    const code = errorCode(err);
    if (code === 'ECONNREFUSED') return 'refused';
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'dns';
    if (code === 'ETIMEDOUT' || (code?.startsWith('UND_ERR_') && code.endsWith('_TIMEOUT'))) return 'timeout';
    if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET' || code === 'UND_ERR_CLOSED') return 'reset';
    return 'other';
}

/** undici wraps the socket error as `TypeError('fetch failed', { cause })`; the code sits on the cause. */
function errorCode(err: unknown): string | undefined {
    for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
        const code = (e as { code?: unknown }).code;
        if (typeof code === 'string') return code;
    }
    return undefined;
}

function describeNetworkError(err: unknown): string {
    const e = ensureError(err);
    const cause = e.cause instanceof Error ? `: ${e.cause.message}` : '';
    return `${e.message}${cause}`;
}

function parseJson(text: string): unknown {
    if (!text) return undefined;
    try {
        return JSON.parse(text) as unknown;
    } catch {
        return undefined;
    }
}

function parseGraphError(body: unknown): GraphErrorBody | undefined {
    if (!isRecord(body) || !isRecord(body.error)) return undefined;
    const { code, message } = body.error;
    const inner = body.error.innerError ?? body.error.innererror;
    return {
        code: typeof code === 'string' ? code : '',
        message: typeof message === 'string' ? message : '',
        ...(isRecord(inner) ? { innerError: inner } : {}),
    };
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringRecord(value: unknown): Record<string, string> {
    const out: Record<string, string> = {};
    if (isRecord(value)) for (const [k, v] of Object.entries(value)) if (typeof v === 'string' || typeof v === 'number') out[k] = String(v);
    return out;
}

function headerValue(headers: Readonly<Record<string, string>>, name: string): string | undefined {
    for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v;
    return undefined;
}
