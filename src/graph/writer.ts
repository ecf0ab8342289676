import { setTimeout as delay } from 'node:timers/promises';

import { compareInstants } from '../contract/timestamp';
import type { AggregatedPolicyCompliance } from '../entity';
import { ensureError, redact } from '../errors';
import type { Logger } from '../log';
import { clampDescription, type CompleteOutcome, type DeadLetterOutcome, type RetryOutcome } from '../outcome';
import type { GraphClient, GraphRequest, GraphResponse } from './client';
import { retryAfterMs } from './client';
import { OncePerWindow } from './once-per-window';
import { TokenUnavailableError } from './token';

export type WriteOutcome = CompleteOutcome | DeadLetterOutcome | RetryOutcome;

export interface EntityWriter {
    /** Never rejects; every entity gets exactly one outcome. Entity ids must be unique within one call. */
    write(
        entities: readonly AggregatedPolicyCompliance[],
        options: { deadlineAt: number /* epoch ms */; signal?: AbortSignal },
    ): Promise<ReadonlyMap<string, WriteOutcome>>;
}

export interface EntityWriterDeps {
    client: GraphClient;
    logger: Logger;
    /** Graph requests in flight at once for this writer, across concurrent `write` calls. */
    maxConcurrency: number;
    /** Total in-process sleep allowed per entity before handing the message back for redelivery. */
    retryBudgetMs: number;
    now?: () => number;
    sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export const COLLECTION_PATH = '/tenantRelationships/managedTenants/aggregatedPolicyCompliances';

/** A systemic failure is reported at most once per error code in this window. */
export const SYSTEMIC_LOG_WINDOW_MS = 60_000;
/** Caps in-process attempts per request even when Graph keeps answering `Retry-After: 0`. */
const MAX_ATTEMPTS = 5;
const BACKOFF_BASE_MS = 100;
const BACKOFF_CAP_MS = 2_000;

/** What an operator should check for each systemic failure. */
export const systemicRemediation: Readonly<Record<string, string>> = {
    GraphUnauthorized: 'token audience/scope mismatch — check GRAPH_SCOPE and GRAPH_BASE_URL',
    GraphForbidden:
        'the identity lacks the Graph app role, or the public Graph service does not support app-only writes to this resource ' +
        '(it documents only delegated GET) — point GRAPH_BASE_URL at a service that accepts the create',
    GraphCollectionNotFound: 'the collection does not exist at this address — check GRAPH_BASE_URL and GRAPH_API_VERSION',
    GraphMethodNotAllowed: 'the endpoint does not implement create/update for aggregatedPolicyCompliances — check GRAPH_BASE_URL',
    GraphNotImplemented: 'the endpoint does not implement create/update for aggregatedPolicyCompliances — check GRAPH_BASE_URL',
    TokenUnavailable: 'check the managed identity (IDENTITY_ENDPOINT) and AZURE_CLIENT_ID',
};

type Step = 'create' | 'read' | 'update';

type Verdict =
    | { readonly kind: 'rejected' }
    | { readonly kind: 'systemic'; readonly errorCode: string }
    | { readonly kind: 'transient'; readonly errorCode: string; readonly retryInProcess: boolean };

/** Per-call state shared by all entities of one `write`. */
interface WriteContext {
    readonly signal: AbortSignal;
    readonly callerSignal: AbortSignal | undefined;
    readonly deadlineAt: number;
    /** The first systemic failure of this call; later entities get it without calling Graph. */
    systemic?: RetryOutcome;
}

export function createEntityWriter(deps: EntityWriterDeps): EntityWriter {
    const { client, logger } = deps;
    const now = deps.now ?? Date.now;
    const sleep = deps.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, undefined, signal ? { signal } : {}));
    const slots = new RequestSlots(Math.max(1, deps.maxConcurrency));
    const systemicAlarm = new OncePerWindow(SYSTEMIC_LOG_WINDOW_MS, now);

    async function write(
        entities: readonly AggregatedPolicyCompliance[],
        options: { deadlineAt: number; signal?: AbortSignal },
    ): Promise<ReadonlyMap<string, WriteOutcome>> {
        const outcomes = new Map<string, WriteOutcome>();
        const deadline = new AbortController();
        const timer = setTimeout(() => deadline.abort(), Math.max(0, options.deadlineAt - now()));
        const ctx: WriteContext = {
            signal: options.signal ? AbortSignal.any([deadline.signal, options.signal]) : deadline.signal,
            callerSignal: options.signal,
            deadlineAt: options.deadlineAt,
        };
        const pending = [...entities];
        const worker = async () => {
            for (let entity = pending.shift(); entity; entity = pending.shift()) {
                outcomes.set(entity.id, await writeEntitySafely(entity, ctx));
            }
        };
        try {
            await Promise.all(Array.from({ length: Math.min(Math.max(1, deps.maxConcurrency), entities.length) }, worker));
        } finally {
            clearTimeout(timer);
        }
        // Every entity has an outcome here: workers drain the whole list and writeEntitySafely never rejects.
        return outcomes;
    }

    async function writeEntitySafely(entity: AggregatedPolicyCompliance, ctx: WriteContext): Promise<WriteOutcome> {
        try {
            return await writeEntity(entity, ctx);
        } catch (err) {
            // A defect, not a Graph answer: give the message back rather than lose it.
            logger.log('error', 'graph.writer.failed', { entityId: entity.id, error: redact(ensureError(err).message) });
            return {
                kind: 'retry',
                errorCode: 'GraphWriterError',
                systemic: false,
                description: clampDescription(`writing the entity failed unexpectedly: ${redact(ensureError(err).message)}`),
                entityId: entity.id,
            };
        }
    }

    async function writeEntity(entity: AggregatedPolicyCompliance, ctx: WriteContext): Promise<WriteOutcome> {
        const budget = { spentMs: 0 };
        const path = `${COLLECTION_PATH}/${encodeURIComponent(entity.id)}`;
        let reposted = false;
        for (;;) {
            const created = await send(ctx, entity.id, budget, 'create', { method: 'POST', path: COLLECTION_PATH, body: entity });
            if ('kind' in created) return created;
            if (created.status !== 409) return complete('created', entity.id, created);

            // 409: the entity exists. Redeliveries and replays are normal, so compare before overwriting.
            const read = await send(ctx, entity.id, budget, 'read', { method: 'GET', path });
            if ('kind' in read) return read;
            if (read.status === 404) {
                // Deleted between our POST and GET: create it once more, then give up to redelivery.
                if (reposted) {
                    return transient(entity.id, 'GraphConflictUnresolved', read, 'the entity conflicted on create but could not be read');
                }
                reposted = true;
                continue;
            }
            const stored = storedRefresh(read.body);
            const order = stored === undefined ? -1 : safeCompare(stored, entity.lastRefreshedDateTime);
            if (order >= 0) {
                logger.log('info', 'graph.entity.unchanged', {
                    entityId: entity.id,
                    reason: order === 0 ? 'duplicate' : 'stale',
                    storedRefreshedAt: stored,
                    incomingRefreshedAt: entity.lastRefreshedDateTime,
                    graphRequestId: read.requestId,
                });
                return complete('unchanged', entity.id, read);
            }

            // PATCH bodies omit the key; `@odata.type` stays so derived-type services accept it.
            const { id: _key, ...changes } = entity;
            const updated = await send(ctx, entity.id, budget, 'update', { method: 'PATCH', path, body: changes });
            return 'kind' in updated ? updated : complete('updated', entity.id, updated);
        }
    }

    /**
     * One Graph request with in-process retries for transient failures. Resolves to the response when its status
     * is one the step handles itself, otherwise to the entity's final outcome.
     */
    async function send(
        ctx: WriteContext,
        entityId: string,
        budget: { spentMs: number },
        step: Step,
        request: Omit<GraphRequest, 'signal'>,
    ): Promise<GraphResponse | WriteOutcome> {
        for (let attempt = 1; ; attempt++) {
            const skipped = alreadyFailed(ctx, entityId);
            if (skipped) return skipped;
            if (ctx.signal.aborted) return stopped(ctx, entityId);
            try {
                await slots.acquire(ctx.signal);
            } catch {
                return stopped(ctx, entityId);
            }
            let res: GraphResponse;
            try {
                // Re-check: another entity may have hit a systemic failure while this one waited for a slot.
                const failedMeanwhile = alreadyFailed(ctx, entityId);
                if (failedMeanwhile) return failedMeanwhile;
                res = await client.request({ ...request, signal: ctx.signal });
            } catch (err) {
                if (err instanceof TokenUnavailableError) {
                    return tripSystemic(ctx, entityId, 'TokenUnavailable', `no Graph token: ${err.message}`);
                }
                throw err;
            } finally {
                slots.release();
            }
            if (handles(step, res.status)) return res;
            if (res.networkError === 'aborted') return stopped(ctx, entityId);

            const verdict = classify(step, res);
            const what = describe(request, res);
            if (verdict.kind === 'rejected') return rejected(entityId, what, res);
            if (verdict.kind === 'systemic') return tripSystemic(ctx, entityId, verdict.errorCode, what, res);

            const waitMs = retryAfterMs(res.headers) ?? backoff(attempt);
            const canWait =
                verdict.retryInProcess &&
                attempt < MAX_ATTEMPTS &&
                budget.spentMs + waitMs <= deps.retryBudgetMs &&
                now() + waitMs < ctx.deadlineAt;
            if (!canWait) return transient(entityId, verdict.errorCode, res, what);
            logger.log('debug', 'graph.retry', { entityId, errorCode: verdict.errorCode, attempt, waitMs, graphRequestId: res.requestId });
            try {
                await sleep(waitMs, ctx.signal);
            } catch {
                return stopped(ctx, entityId);
            }
            budget.spentMs += waitMs;
        }
    }

    function tripSystemic(ctx: WriteContext, entityId: string, errorCode: string, what: string, res?: GraphResponse): RetryOutcome {
        const outcome: RetryOutcome = {
            kind: 'retry',
            errorCode,
            systemic: true,
            description: clampDescription(redact(what)),
            ...(res?.status ? { graphStatus: res.status } : {}),
            ...(res?.requestId ? { graphRequestId: res.requestId } : {}),
            entityId,
        };
        ctx.systemic ??= outcome;
        const gate = systemicAlarm.admit(errorCode);
        if (gate.admitted) {
            logger.log('error', 'graph.systemicFailure', {
                errorCode,
                graphStatus: outcome.graphStatus,
                graphRequestId: outcome.graphRequestId,
                clientRequestId: res?.clientRequestId,
                description: outcome.description,
                remediation: systemicRemediation[errorCode],
                suppressedSinceLastReport: gate.suppressed,
            });
        }
        return outcome;
    }

    return { write };
}

/** Statuses each step handles itself; everything else is classified. */
function handles(step: Step, status: number): boolean {
    if (status >= 200 && status < 300) return true;
    return (step === 'create' && status === 409) || (step === 'read' && status === 404);
}

function classify(step: Step, res: GraphResponse): Verdict {
    switch (res.networkError) {
        case undefined:
            break;
        case 'timeout':
            return { kind: 'transient', errorCode: 'GraphTimeout', retryInProcess: true };
        default:
            return { kind: 'transient', errorCode: 'GraphNetworkError', retryInProcess: true };
    }
    switch (res.status) {
        case 400:
        case 422:
            // A bad key in a GET is not the payload's fault; redelivery will surface it as RetriesExhausted.
            return step === 'read'
                ? { kind: 'transient', errorCode: 'GraphUnexpectedStatus', retryInProcess: false }
                : { kind: 'rejected' };
        case 401:
            return { kind: 'systemic', errorCode: 'GraphUnauthorized' };
        case 403:
            return { kind: 'systemic', errorCode: 'GraphForbidden' };
        case 404:
            return step === 'create'
                ? { kind: 'systemic', errorCode: 'GraphCollectionNotFound' }
                : { kind: 'transient', errorCode: 'GraphEntityNotFound', retryInProcess: false };
        case 405:
            return { kind: 'systemic', errorCode: 'GraphMethodNotAllowed' };
        case 501:
            return { kind: 'systemic', errorCode: 'GraphNotImplemented' };
        case 408:
            return { kind: 'transient', errorCode: 'GraphTimeout', retryInProcess: true };
        case 429:
            return { kind: 'transient', errorCode: 'GraphThrottled', retryInProcess: true };
        case 500:
        case 502:
        case 503:
        case 504:
            return { kind: 'transient', errorCode: 'GraphUnavailable', retryInProcess: true };
        case 409:
            return { kind: 'transient', errorCode: 'GraphConflict', retryInProcess: false };
        case 412:
            return { kind: 'transient', errorCode: 'GraphPreconditionFailed', retryInProcess: false };
        default:
            return { kind: 'transient', errorCode: 'GraphUnexpectedStatus', retryInProcess: false };
    }
}

/** Exponential backoff with jitter (half fixed, half random) for failures without `Retry-After`. */
function backoff(attempt: number): number {
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/** One line naming the call and Graph's answer, for descriptions; Graph's message may echo input, so it is redacted. */
function describe(request: Omit<GraphRequest, 'signal'>, res: GraphResponse): string {
    const call = `${request.method} ${request.path}`;
    const ids = `request-id ${res.requestId ?? 'none'}, client-request-id ${res.clientRequestId}`;
    if (res.status === 0) return `${call} failed (${res.networkError ?? 'other'}): ${res.networkErrorMessage ?? ''} (${ids})`;
    const error = res.error ? ` ${res.error.code}: ${res.error.message}` : '';
    return `${call} → ${res.status}${error} (${ids})`;
}

function complete(write: CompleteOutcome['write'], entityId: string, res: GraphResponse): CompleteOutcome {
    return { kind: 'complete', write, entityId, ...(res.requestId ? { graphRequestId: res.requestId } : {}) };
}

function rejected(entityId: string, what: string, res: GraphResponse): DeadLetterOutcome {
    return {
        kind: 'deadLetter',
        reason: 'GraphRejected',
        description: clampDescription(redact(`Graph rejected the entity: ${what}`)),
        properties: {
            graphStatus: res.status,
            ...(res.error?.code ? { graphErrorCode: res.error.code } : {}),
            ...(res.requestId ? { graphRequestId: res.requestId } : {}),
        },
        entityId,
    };
}

function transient(entityId: string, errorCode: string, res: GraphResponse, what: string): RetryOutcome {
    const wait = res.status ? retryAfterMs(res.headers) : undefined;
    return {
        kind: 'retry',
        errorCode,
        systemic: false,
        description: clampDescription(redact(what)),
        ...(wait !== undefined ? { retryAfterMs: wait } : {}),
        ...(res.status ? { graphStatus: res.status } : {}),
        ...(res.requestId ? { graphRequestId: res.requestId } : {}),
        entityId,
    };
}

/** The systemic failure an earlier entity of this call hit, re-addressed to this entity. */
function alreadyFailed(ctx: WriteContext, entityId: string): RetryOutcome | undefined {
    return ctx.systemic ? { ...ctx.systemic, entityId } : undefined;
}

/** The deadline passed or the caller cancelled before this entity finished. */
function stopped(ctx: WriteContext, entityId: string): RetryOutcome {
    const cancelled = ctx.callerSignal?.aborted === true;
    return {
        kind: 'retry',
        errorCode: cancelled ? 'WriteCancelled' : 'DeadlineExceeded',
        systemic: false,
        description: cancelled ? 'the write was cancelled before it finished' : 'the write did not finish before the batch deadline',
        entityId,
    };
}

function storedRefresh(body: unknown): string | undefined {
    if (typeof body !== 'object' || body === null) return undefined;
    const value = (body as Record<string, unknown>).lastRefreshedDateTime;
    return typeof value === 'string' ? value : undefined;
}

/** A stored value we cannot parse counts as older, so our valid copy overwrites it. */
function safeCompare(stored: string, incoming: string): -1 | 0 | 1 {
    try {
        return compareInstants(stored, incoming);
    } catch {
        return -1;
    }
}

/** A tiny FIFO semaphore bounding the requests in flight; waiting gives up when the write is aborted. */
class RequestSlots {
    private readonly waiting: (() => void)[] = [];

    constructor(private available: number) {}

    acquire(signal: AbortSignal): Promise<void> {
        if (signal.aborted) return Promise.reject(ensureError(signal.reason));
        if (this.available > 0) {
            this.available--;
            return Promise.resolve();
        }
        return new Promise((resolve, reject) => {
            const grant = () => {
                signal.removeEventListener('abort', onAbort);
                resolve();
            };
            const onAbort = () => {
                const index = this.waiting.indexOf(grant);
                if (index >= 0) this.waiting.splice(index, 1);
                reject(ensureError(signal.reason));
            };
            this.waiting.push(grant);
            signal.addEventListener('abort', onAbort, { once: true });
        });
    }

    release(): void {
        const next = this.waiting.shift();
        if (next) next();
        else this.available++;
    }
}
