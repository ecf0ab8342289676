/**
 * The rules both writers (single requests and `$batch`) judge Graph's answers by: classification of each status,
 * the outcome built from it, in-process retry budgets, the shared throttle gate and adaptive concurrency, and the
 * once-per-window report of systemic failures.
 */
import { setTimeout as delay } from 'node:timers/promises';

import { compareInstants } from '../contract/timestamp';
import type { AggregatedPolicyCompliance } from '../entity';
import { ensureError, redact } from '../errors';
import type { Logger } from '../log';
import { clampDescription, type CompleteOutcome, type DeadLetterOutcome, type RetryOutcome } from '../outcome';
import type { GraphRequest, GraphResponse } from './client';
import { retryAfterMs } from './client';
import { AdaptiveConcurrency, type LoadSignal, loadSignalOf } from './concurrency';
import { OncePerWindow } from './once-per-window';
import { type PauseVerdict, ThrottleGate } from './pause';
import type { EntityWriterDeps, WriteOutcome } from './writer';

export const COLLECTION_PATH = '/tenantRelationships/managedTenants/aggregatedPolicyCompliances';

/** A systemic failure is reported at most once per error code in this window. */
export const SYSTEMIC_LOG_WINDOW_MS = 60_000;
/** How often a writer reports its concurrency and pause at info level (on the next write after the window). */
export const STATUS_LOG_WINDOW_MS = 60_000;
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

/** The request an entity is at: create it, read the stored copy after a 409, or update that copy. */
export type Step = 'create' | 'read' | 'update';

type Verdict =
    | { readonly kind: 'rejected' }
    | { readonly kind: 'systemic'; readonly errorCode: string }
    | { readonly kind: 'transient'; readonly errorCode: string; readonly retryInProcess: boolean };

/** Per-call state shared by all entities of one `write`. */
export interface WriteContext {
    readonly signal: AbortSignal;
    readonly callerSignal: AbortSignal | undefined;
    readonly deadlineAt: number;
    /** The first systemic failure of this call; later entities get it without calling Graph. */
    systemic?: RetryOutcome;
}

/** In-process retry time spent on one entity so far. */
export interface RetryBudget {
    spentMs: number;
}

/**
 * The rules both writers (single requests and `$batch`) apply to Graph's answers, plus the per-instance state they
 * share: the adaptive concurrency limit, the Retry-After pause and the once-per-window systemic alarm.
 */
export class WriteRules {
    readonly now: () => number;
    readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
    readonly limiter: AdaptiveConcurrency;
    readonly gate: ThrottleGate;
    private readonly logger: Logger;
    private readonly retryBudgetMs: number;
    private readonly systemicAlarm: OncePerWindow;
    private readonly statusReport: OncePerWindow;

    constructor(deps: Omit<EntityWriterDeps, 'client'>, private readonly writerKind: 'single' | 'batch') {
        this.logger = deps.logger;
        this.retryBudgetMs = deps.retryBudgetMs;
        this.now = deps.now ?? Date.now;
        this.sleep = deps.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, undefined, signal ? { signal } : {}));
        this.systemicAlarm = new OncePerWindow(SYSTEMIC_LOG_WINDOW_MS, this.now);
        this.statusReport = new OncePerWindow(STATUS_LOG_WINDOW_MS, this.now);
        this.gate = new ThrottleGate({ now: this.now });
        this.limiter = new AdaptiveConcurrency({
            max: deps.maxConcurrency,
            now: this.now,
            onChange: (limit, previous, change) =>
                this.logger.log('debug', 'graph.concurrency', { writer: this.writerKind, concurrency: limit, previous, change }),
        });
    }

    /** Start one `write`: its context (aborted at the deadline or by the caller) and the cleanup to run afterwards. */
    open(options: { deadlineAt: number; signal?: AbortSignal }): { ctx: WriteContext; close: () => void } {
        const status = this.statusReport.admit('status');
        if (status.admitted) {
            this.logger.log('info', 'graph.writer.status', {
                writer: this.writerKind,
                concurrency: this.limiter.current,
                inFlight: this.limiter.inFlight,
                pausedUntil: this.gate.pausedUntil ? new Date(this.gate.pausedUntil).toISOString() : undefined,
                writesPerSecond: this.gate.writesPerSecond,
            });
        }
        const deadline = new AbortController();
        const timer = setTimeout(() => deadline.abort(), Math.max(0, options.deadlineAt - this.now()));
        const ctx: WriteContext = {
            signal: options.signal ? AbortSignal.any([deadline.signal, options.signal]) : deadline.signal,
            callerSignal: options.signal,
            deadlineAt: options.deadlineAt,
        };
        return { ctx, close: () => clearTimeout(timer) };
    }

    /**
     * Wait for a request slot and for the throttle gate (`writes` sub-requests). 'go' means send now and `release`
     * afterwards; otherwise nothing was sent and nothing is held: the write was stopped, or the wait outlasts the deadline.
     */
    async admit(ctx: WriteContext, writes = 1): Promise<'go' | 'stopped' | PauseVerdict> {
        try {
            await this.limiter.acquire(ctx.signal);
        } catch {
            return 'stopped';
        }
        try {
            const held = await this.gate.wait(ctx.deadlineAt, ctx.signal, writes);
            if (!held) return 'go';
            this.limiter.release('neutral');
            return held;
        } catch {
            this.limiter.release('neutral');
            return 'stopped';
        }
    }

    /** Feed an answer to the throttle gate; returns what it says about Graph's load, for `release`. */
    observe(res: Pick<GraphResponse, 'status' | 'headers' | 'networkError'>): LoadSignal {
        if (res.status === 429 || res.status === 503) {
            const wait = retryAfterMs(res.headers);
            if (wait !== undefined) this.gate.pause(wait, res.status === 429 ? 'GraphThrottled' : 'GraphUnavailable');
        }
        if (res.status === 429) this.gate.throttled();
        else if (res.status !== 0) this.gate.accept();
        return loadSignalOf(res.status, res.networkError);
    }

    /** After a 409 and a GET: complete as unchanged when Graph holds the same or a newer refresh, else undefined (PATCH). */
    judgeStored(entity: AggregatedPolicyCompliance, read: GraphResponse): CompleteOutcome | undefined {
        const stored = storedRefresh(read.body);
        const order = stored === undefined ? -1 : safeCompare(stored, entity.lastRefreshedDateTime);
        if (order < 0) return undefined;
        this.logger.log('info', 'graph.entity.unchanged', {
            entityId: entity.id,
            reason: order === 0 ? 'duplicate' : 'stale',
            storedRefreshedAt: stored,
            incomingRefreshedAt: entity.lastRefreshedDateTime,
            graphRequestId: read.requestId,
        });
        return complete('unchanged', entity.id, read);
    }

    /**
     * An answer the step does not handle itself: the entity's final outcome, or how long to wait before sending the
     * same request again in-process (already charged to `budget`).
     */
    judgeFailure(
        ctx: WriteContext,
        entityId: string,
        step: Step,
        request: Omit<GraphRequest, 'signal'>,
        res: GraphResponse,
        attempt: number,
        budget: RetryBudget,
    ): WriteOutcome | { readonly waitMs: number } {
        if (res.networkError === 'aborted') return stopped(ctx, entityId);
        const verdict = classify(step, res);
        const what = describe(request, res);
        if (verdict.kind === 'rejected') return rejected(entityId, what, res);
        if (verdict.kind === 'systemic') return this.tripSystemic(ctx, entityId, verdict.errorCode, what, res);

        const waitMs = retryAfterMs(res.headers) ?? backoff(attempt);
        const canWait =
            verdict.retryInProcess &&
            attempt < MAX_ATTEMPTS &&
            budget.spentMs + waitMs <= this.retryBudgetMs &&
            this.now() + waitMs < ctx.deadlineAt;
        if (!canWait) return transient(entityId, verdict.errorCode, res, what);
        this.logger.log('debug', 'graph.retry', { entityId, errorCode: verdict.errorCode, attempt, waitMs, graphRequestId: res.requestId });
        budget.spentMs += waitMs;
        return { waitMs };
    }

    /** Record the call's systemic failure (later entities get it without calling Graph) and raise the alarm once per window. */
    tripSystemic(ctx: WriteContext, entityId: string, errorCode: string, what: string, res?: GraphResponse): RetryOutcome {
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
        const gate = this.systemicAlarm.admit(errorCode);
        if (gate.admitted) {
            this.logger.log('error', 'graph.systemicFailure', {
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

    /** A defect, not a Graph answer: give the message back rather than lose it. */
    writerFailed(entityId: string, err: unknown): RetryOutcome {
        const message = redact(ensureError(err).message);
        this.logger.log('error', 'graph.writer.failed', { entityId, error: message });
        return {
            kind: 'retry',
            errorCode: 'GraphWriterError',
            systemic: false,
            description: clampDescription(`writing the entity failed unexpectedly: ${message}`),
            entityId,
        };
    }
}

/** The Graph request for an entity at a step. */
export function requestFor(step: Step, entity: AggregatedPolicyCompliance): Omit<GraphRequest, 'signal'> {
    if (step === 'create') return { method: 'POST', path: COLLECTION_PATH, body: entity };
    const path = `${COLLECTION_PATH}/${encodeURIComponent(entity.id)}`;
    if (step === 'read') return { method: 'GET', path };
    // PATCH bodies omit the key; `@odata.type` stays so derived-type services accept it.
    const { id: _key, ...changes } = entity;
    return { method: 'PATCH', path, body: changes };
}

/** The entity conflicted on create, then vanished before it could be read — twice. */
export function conflictUnresolved(entityId: string, read: GraphResponse): RetryOutcome {
    return transient(entityId, 'GraphConflictUnresolved', read, 'the entity conflicted on create but could not be read');
}

/** The shared pause outlasts the deadline: give the entity back with Graph's wait. */
export function paused(entityId: string, verdict: PauseVerdict): RetryOutcome {
    return {
        kind: 'retry',
        errorCode: verdict.errorCode,
        systemic: false,
        description: `Graph asked this instance to pause for ${verdict.retryAfterMs} ms, past the batch deadline`,
        retryAfterMs: verdict.retryAfterMs,
        entityId,
    };
}

/** Statuses each step handles itself; everything else is classified. */
export function handles(step: Step, status: number): boolean {
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

export function complete(write: CompleteOutcome['write'], entityId: string, res: GraphResponse): CompleteOutcome {
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
export function alreadyFailed(ctx: WriteContext, entityId: string): RetryOutcome | undefined {
    return ctx.systemic ? { ...ctx.systemic, entityId } : undefined;
}

/** The deadline passed or the caller cancelled before this entity finished. */
export function stopped(ctx: WriteContext, entityId: string): RetryOutcome {
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
