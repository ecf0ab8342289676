import type { AggregatedPolicyCompliance } from '../entity';
import type { GraphBatchRequest, GraphBatchResult, GraphRequest, GraphResponse } from './client';
import { MAX_BATCH_REQUESTS } from './client';
import type { LoadSignal } from './concurrency';
import { TokenUnavailableError } from './token';
import {
    alreadyFailed,
    complete,
    conflictUnresolved,
    handles,
    paused,
    requestFor,
    type RetryBudget,
    type Step,
    stopped,
    type WriteContext,
    WriteRules,
} from './write-rules';
import type { EntityWriter, EntityWriterDeps, WriteOutcome } from './writer';

/** How much later than the first retry due a retry may be and still go in the same `$batch`. */
const RETRY_COALESCE_MS = 100;

/** One entity on its way through create → (409) read → update, possibly waiting to retry its current step. */
interface Job {
    readonly entity: AggregatedPolicyCompliance;
    step: Step;
    /** Attempts of the current step, for backoff and the attempt cap. */
    attempt: number;
    readonly budget: RetryBudget;
    reposted: boolean;
    /** Epoch ms before which the step must not be sent again (its own Retry-After or backoff). */
    readyAt: number;
}

/**
 * The same idempotent writes as `createEntityWriter`, sent as JSON `$batch` requests of up to 20: one call's
 * creates go together, then the reads for all 409s, then the updates. Each sub-request is judged on its own status
 * with the single writer's rules; a failed envelope counts as that failure for every item in it. Only failed items
 * are sent again, after their own Retry-After.
 */
export function createBatchEntityWriter(deps: EntityWriterDeps): EntityWriter {
    const { client } = deps;
    const rules = new WriteRules(deps, 'batch');

    async function write(
        entities: readonly AggregatedPolicyCompliance[],
        options: { deadlineAt: number; signal?: AbortSignal },
    ): Promise<ReadonlyMap<string, WriteOutcome>> {
        const outcomes = new Map<string, WriteOutcome>();
        const { ctx, close } = rules.open(options);
        let jobs: Job[] = entities.map((entity) => ({ entity, step: 'create', attempt: 1, budget: { spentMs: 0 }, reposted: false, readyAt: 0 }));
        try {
            while (jobs.length > 0) {
                const at = rules.now();
                const due = jobs.filter((job) => job.readyAt <= at);
                if (due.length === 0) {
                    // Jobs due shortly after the first one wait for it, so the items of one failed batch (jittered
                    // backoffs, slightly different Retry-After values) are sent again together.
                    const first = Math.min(...jobs.map((job) => job.readyAt));
                    const next = Math.max(...jobs.map((job) => job.readyAt).filter((readyAt) => readyAt <= first + RETRY_COALESCE_MS));
                    try {
                        await rules.sleep(next - at, ctx.signal);
                    } catch {
                        for (const job of jobs) outcomes.set(job.entity.id, stopped(ctx, job.entity.id));
                    }
                } else {
                    const chunks: Job[][] = [];
                    for (let i = 0; i < due.length; i += MAX_BATCH_REQUESTS) chunks.push(due.slice(i, i + MAX_BATCH_REQUESTS));
                    await Promise.all(chunks.map((chunk) => sendChunkSafely(ctx, chunk, outcomes)));
                }
                jobs = jobs.filter((job) => !outcomes.has(job.entity.id));
            }
        } finally {
            close();
        }
        return outcomes;
    }

    async function sendChunkSafely(ctx: WriteContext, chunk: readonly Job[], outcomes: Map<string, WriteOutcome>): Promise<void> {
        try {
            await sendChunk(ctx, chunk, outcomes);
        } catch (err) {
            for (const job of chunk) if (!outcomes.has(job.entity.id)) outcomes.set(job.entity.id, rules.writerFailed(job.entity.id, err));
        }
    }

    /** One `$batch` for up to 20 jobs; every job either gets its outcome or is moved on to its next step or retry. */
    async function sendChunk(ctx: WriteContext, chunk: readonly Job[], outcomes: Map<string, WriteOutcome>): Promise<void> {
        const settleAll = (outcome: (entityId: string) => WriteOutcome) => {
            for (const job of chunk) outcomes.set(job.entity.id, outcome(job.entity.id));
        };
        if (ctx.systemic) return settleAll((id) => alreadyFailed(ctx, id)!);
        if (ctx.signal.aborted) return settleAll((id) => stopped(ctx, id));
        const admitted = await rules.admit(ctx, chunk.length);
        if (admitted === 'stopped') return settleAll((id) => stopped(ctx, id));
        if (admitted !== 'go') return settleAll((id) => paused(id, admitted));

        const sent = chunk.map((job) => requestFor(job.step, job.entity));
        let answers: GraphResponse[];
        let load: LoadSignal = 'neutral';
        try {
            // Re-check: another chunk may have hit a systemic failure while this one waited for a slot.
            if (ctx.systemic) return settleAll((id) => alreadyFailed(ctx, id)!);
            const result = await client.batch(sent.map(toBatchRequest), { signal: ctx.signal });
            answers = chunk.map((_job, index) => answerFor(result, String(index + 1)));
            load = observe(result.response, answers);
        } catch (err) {
            if (!(err instanceof TokenUnavailableError)) throw err;
            rules.tripSystemic(ctx, chunk[0]!.entity.id, 'TokenUnavailable', `no Graph token: ${err.message}`);
            return settleAll((id) => alreadyFailed(ctx, id)!);
        } finally {
            rules.limiter.release(load);
        }
        chunk.forEach((job, index) => {
            const outcome = advance(ctx, job, sent[index]!, answers[index]!);
            if (outcome) outcomes.set(job.entity.id, outcome);
        });
    }

    /** Feed every answer to the shared pause; the request overloaded Graph if any of its answers says so. */
    function observe(envelope: GraphResponse, answers: readonly GraphResponse[]): LoadSignal {
        if (!envelopeAnswered(envelope)) return rules.observe(envelope);
        let load: LoadSignal = 'success';
        for (const answer of answers) if (rules.observe(answer) === 'overload') load = 'overload';
        return load;
    }

    /** Apply one answer to a job: its final outcome, or undefined when the job moved on or waits to retry. */
    function advance(ctx: WriteContext, job: Job, request: Omit<GraphRequest, 'signal'>, res: GraphResponse): WriteOutcome | undefined {
        const entityId = job.entity.id;
        if (handles(job.step, res.status)) {
            switch (job.step) {
                case 'create':
                    // 409: the entity exists. Redeliveries and replays are normal, so read it before overwriting.
                    return res.status === 409 ? moveOn(job, 'read') : complete('created', entityId, res);
                case 'read':
                    if (res.status !== 404) return rules.judgeStored(job.entity, res) ?? moveOn(job, 'update');
                    // Deleted between our POST and GET: create it once more, then give up to redelivery.
                    if (job.reposted) return conflictUnresolved(entityId, res);
                    job.reposted = true;
                    return moveOn(job, 'create');
                case 'update':
                    return complete('updated', entityId, res);
            }
        }
        const judged = rules.judgeFailure(ctx, entityId, job.step, request, res, job.attempt, job.budget);
        if ('kind' in judged) return judged;
        job.attempt++;
        job.readyAt = rules.now() + judged.waitMs;
        return undefined;
    }

    return {
        write,
        get concurrency() {
            return rules.limiter.current;
        },
        get pausedUntil() {
            return rules.gate.pausedUntil;
        },
    };
}

function moveOn(job: Job, step: Step): undefined {
    job.step = step;
    job.attempt = 1;
    job.readyAt = 0;
    return undefined;
}

function toBatchRequest(request: Omit<GraphRequest, 'signal'>, index: number): GraphBatchRequest {
    return { id: String(index + 1), method: request.method, url: request.path, ...(request.body !== undefined ? { body: request.body } : {}) };
}

/** A 2xx envelope carries per-item answers; anything else (4xx/5xx, timeout, reset) is every item's answer. */
function envelopeAnswered(envelope: GraphResponse): boolean {
    return envelope.status >= 200 && envelope.status < 300;
}

/** One sub-request's answer in the single writer's terms, so both writers judge it with the same rules. */
function answerFor(result: GraphBatchResult, id: string): GraphResponse {
    const envelope = result.response;
    if (!envelopeAnswered(envelope)) return envelope;
    const item = result.items.get(id);
    if (!item) {
        return {
            status: 0,
            headers: new Headers(),
            body: undefined,
            clientRequestId: envelope.clientRequestId,
            networkError: 'other',
            networkErrorMessage: `the $batch answer has no response for request ${id}`,
            ...(envelope.requestId ? { requestId: envelope.requestId } : {}),
        };
    }
    const headers = new Headers(item.headers);
    const inner = item.error?.innerError?.['request-id'];
    const requestId = headers.get('request-id') ?? (typeof inner === 'string' ? inner : envelope.requestId);
    return {
        status: item.status,
        headers,
        body: item.body,
        clientRequestId: envelope.clientRequestId,
        ...(requestId ? { requestId } : {}),
        ...(item.error ? { error: item.error } : {}),
    };
}
