import type { AggregatedPolicyCompliance } from '../entity';
import type { Logger } from '../log';
import type { CompleteOutcome, DeadLetterOutcome, RetryOutcome } from '../outcome';
import type { GraphClient, GraphRequest, GraphResponse } from './client';
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

export type WriteOutcome = CompleteOutcome | DeadLetterOutcome | RetryOutcome;

export interface EntityWriter {
    /** Never rejects; every entity gets exactly one outcome. Entity ids must be unique within one call. */
    write(
        entities: readonly AggregatedPolicyCompliance[],
        options: { deadlineAt: number /* epoch ms */; signal?: AbortSignal },
    ): Promise<ReadonlyMap<string, WriteOutcome>>;
    /** Graph requests the writer currently lets be in flight (adaptive), for status lines; absent when not limited. */
    readonly concurrency?: number;
    /** Epoch ms until which Graph asked (Retry-After) that nothing be sent, or 0; hosts may stop receiving until then. */
    readonly pausedUntil?: number;
}

export interface EntityWriterDeps {
    client: GraphClient;
    logger: Logger;
    /** Ceiling on Graph requests in flight at once for this writer, across concurrent `write` calls. */
    maxConcurrency: number;
    /** Total in-process sleep allowed per entity before handing the message back for redelivery. */
    retryBudgetMs: number;
    now?: () => number;
    sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export function createEntityWriter(deps: EntityWriterDeps): EntityWriter {
    const { client } = deps;
    const rules = new WriteRules(deps, 'single');

    async function write(
        entities: readonly AggregatedPolicyCompliance[],
        options: { deadlineAt: number; signal?: AbortSignal },
    ): Promise<ReadonlyMap<string, WriteOutcome>> {
        const outcomes = new Map<string, WriteOutcome>();
        const { ctx, close } = rules.open(options);
        const pending = [...entities];
        const worker = async () => {
            for (let entity = pending.shift(); entity; entity = pending.shift()) {
                outcomes.set(entity.id, await writeEntitySafely(entity, ctx));
            }
        };
        try {
            await Promise.all(Array.from({ length: Math.min(Math.max(1, deps.maxConcurrency), entities.length) }, worker));
        } finally {
            close();
        }
        // Every entity has an outcome here: workers drain the whole list and writeEntitySafely never rejects.
        return outcomes;
    }

    async function writeEntitySafely(entity: AggregatedPolicyCompliance, ctx: WriteContext): Promise<WriteOutcome> {
        try {
            return await writeEntity(entity, ctx);
        } catch (err) {
            return rules.writerFailed(entity.id, err);
        }
    }

    async function writeEntity(entity: AggregatedPolicyCompliance, ctx: WriteContext): Promise<WriteOutcome> {
        const budget: RetryBudget = { spentMs: 0 };
        let reposted = false;
        for (;;) {
            const created = await send(ctx, entity.id, budget, 'create', requestFor('create', entity));
            if ('kind' in created) return created;
            if (created.status !== 409) return complete('created', entity.id, created);

            // 409: the entity exists. Redeliveries and replays are normal, so compare before overwriting.
            const read = await send(ctx, entity.id, budget, 'read', requestFor('read', entity));
            if ('kind' in read) return read;
            if (read.status === 404) {
                // Deleted between our POST and GET: create it once more, then give up to redelivery.
                if (reposted) return conflictUnresolved(entity.id, read);
                reposted = true;
                continue;
            }
            const unchanged = rules.judgeStored(entity, read);
            if (unchanged) return unchanged;

            const updated = await send(ctx, entity.id, budget, 'update', requestFor('update', entity));
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
        budget: RetryBudget,
        step: Step,
        request: Omit<GraphRequest, 'signal'>,
    ): Promise<GraphResponse | WriteOutcome> {
        for (let attempt = 1; ; attempt++) {
            const skipped = alreadyFailed(ctx, entityId);
            if (skipped) return skipped;
            if (ctx.signal.aborted) return stopped(ctx, entityId);
            const admitted = await rules.admit(ctx);
            if (admitted === 'stopped') return stopped(ctx, entityId);
            if (admitted !== 'go') return paused(entityId, admitted);
            let res: GraphResponse;
            let load: LoadSignal = 'neutral';
            try {
                // Re-check: another entity may have hit a systemic failure while this one waited for a slot.
                const failedMeanwhile = alreadyFailed(ctx, entityId);
                if (failedMeanwhile) return failedMeanwhile;
                res = await client.request({ ...request, signal: ctx.signal });
                load = rules.observe(res);
            } catch (err) {
                if (err instanceof TokenUnavailableError) {
                    return rules.tripSystemic(ctx, entityId, 'TokenUnavailable', `no Graph token: ${err.message}`);
                }
                throw err;
            } finally {
                rules.limiter.release(load);
            }
            if (handles(step, res.status)) return res;
            const next = rules.judgeFailure(ctx, entityId, step, request, res, attempt, budget);
            if ('kind' in next) return next;
            try {
                await rules.sleep(next.waitMs, ctx.signal);
            } catch {
                return stopped(ctx, entityId);
            }
        }
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
