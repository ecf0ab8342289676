import { decodeAggregate } from './contract/decode';
import { compareInstants } from './contract/timestamp';
import { type AggregatedPolicyCompliance, toEntity } from './entity';
import { ensureError, redact } from './errors';
import type { EntityWriter } from './graph/writer';
import type { Logger } from './log';
import type { InboundMessage } from './message';
import type { DeadLetterOutcome, Outcome } from './outcome';
import { decideRetry, defaultRetryPolicy, type RetryPolicy } from './recoverability/retry-policy';
import type { Settlement } from './settlement';

/** One received message and the host's handle for settling it. */
export interface BatchItem<M> {
    readonly handle: M;
    readonly message: InboundMessage;
}

export interface DecideOptions {
    /** Epoch ms by which every write must have an outcome; later ones come back as retries. */
    readonly deadlineAt: number;
    readonly signal?: AbortSignal;
}

interface Candidate {
    readonly index: number;
    readonly entity: AggregatedPolicyCompliance;
}

/**
 * decode → validate → map → write → decide, for a whole batch. Pure of settlement: returns one outcome
 * per message, in input order. Never throws for bad input or Graph failures.
 */
export async function decideBatch(
    messages: readonly InboundMessage[],
    writer: EntityWriter,
    options: DecideOptions,
): Promise<Outcome[]> {
    const outcomes: (Outcome | undefined)[] = new Array<Outcome | undefined>(messages.length);
    // Messages for the same entity collapse to the newest refresh; ties go to the later message.
    const winners = new Map<string, Candidate>();
    const losers: Candidate[] = [];

    messages.forEach((message, index) => {
        const decoded = decodeAggregate(message.body);
        if (!decoded.ok) {
            outcomes[index] = {
                kind: 'deadLetter',
                reason: decoded.reason,
                description: decoded.description,
                properties: { errorCode: decoded.reason, issueCount: decoded.issues.length },
            };
            return;
        }
        const candidate = { index, entity: toEntity(decoded.aggregate) };
        const current = winners.get(candidate.entity.id);
        if (!current) {
            winners.set(candidate.entity.id, candidate);
        } else if (compareInstants(candidate.entity.lastRefreshedDateTime, current.entity.lastRefreshedDateTime) >= 0) {
            winners.set(candidate.entity.id, candidate);
            losers.push(current);
        } else {
            losers.push(candidate);
        }
    });

    const written = winners.size
        ? await writer.write([...winners.values()].map((c) => c.entity), options)
        : new Map<string, Outcome>();

    for (const { index, entity } of winners.values()) {
        outcomes[index] = written.get(entity.id) ?? {
            kind: 'retry',
            errorCode: 'WriteOutcomeMissing',
            description: 'the writer returned no outcome for this entity',
            systemic: false,
            entityId: entity.id,
        };
    }
    for (const { index, entity } of losers) {
        const winner = written.get(entity.id);
        // If the newest aggregate could not be written as sent, an older one must not be lost with it.
        outcomes[index] =
            winner?.kind === 'deadLetter'
                ? {
                      kind: 'retry',
                      errorCode: 'SupersedingAggregateRejected',
                      description: 'a newer aggregate for this entity in the same batch was rejected; retrying this one on its own',
                      systemic: false,
                      entityId: entity.id,
                  }
                : { kind: 'complete', write: 'superseded', entityId: entity.id };
    }
    return outcomes.map((o) => o!);
}

export interface IngestDeps<M> {
    readonly writer: EntityWriter;
    readonly settlement: Settlement<M>;
    readonly logger: Logger;
    /** Fields stamped on every outcome log line and dead-letter (e.g. host and function name). */
    readonly origin?: Readonly<Record<string, string>>;
    readonly now?: () => number;
    readonly retryPolicy?: RetryPolicy;
}

export interface BatchSummary {
    readonly received: number;
    readonly completed: number;
    readonly deadLettered: Readonly<Record<string, number>>;
    readonly retried: number;
    readonly settlementFailures: number;
}

function deadLetterProperties(item: InboundMessage, outcome: DeadLetterOutcome, origin: Readonly<Record<string, string>>, at: string) {
    return {
        errorCode: outcome.reason,
        attempt: (item.deliveryCount ?? 0) + 1,
        firstFailureAt: at,
        lastFailureAt: at,
        ...outcome.properties,
        deadLetteredAt: at,
        ...origin,
    };
}

/** Decide every message of a batch, then settle each through the port, logging one line per message. */
export async function ingestBatch<M>(items: readonly BatchItem<M>[], deps: IngestDeps<M>, options: DecideOptions): Promise<BatchSummary> {
    const now = deps.now ?? Date.now;
    const started = now();
    const origin = deps.origin ?? {};
    const outcomes = await decideBatch(
        items.map((i) => i.message),
        deps.writer,
        options,
    );
    const summary = { received: items.length, completed: 0, deadLettered: {} as Record<string, number>, retried: 0, settlementFailures: 0 };

    await Promise.all(
        items.map(async (item, index) => {
            let outcome = outcomes[index]!;
            const m = item.message;
            try {
                if (outcome.kind === 'retry') {
                    const decision = decideRetry(m, outcome, deps.retryPolicy ?? defaultRetryPolicy, now());
                    if (decision.kind === 'reschedule') {
                        await deps.settlement.retry(item.handle, { outcome, decision, message: m });
                        summary.retried++;
                    } else {
                        const entityId = outcome.entityId;
                        outcome = {
                            kind: 'deadLetter',
                            reason: 'RetriesExhausted',
                            description: decision.description,
                            properties: decision.properties,
                            ...(entityId ? { entityId } : {}),
                        };
                    }
                }
                if (outcome.kind === 'complete') {
                    await deps.settlement.complete(item.handle);
                    summary.completed++;
                } else if (outcome.kind === 'deadLetter') {
                    const properties = deadLetterProperties(m, outcome, origin, new Date(now()).toISOString());
                    await deps.settlement.deadLetter(item.handle, outcome.reason, outcome.description, properties);
                    summary.deadLettered[outcome.reason] = (summary.deadLettered[outcome.reason] ?? 0) + 1;
                }
            } catch (err) {
                // The lock lapses and the broker redelivers: nothing is lost, so log and carry on.
                summary.settlementFailures++;
                deps.logger.log('error', 'settlement.failed', {
                    messageId: m.messageId,
                    outcome: outcome.kind,
                    error: redact(ensureError(err).message),
                });
                return;
            }
            const [tenantId, compliancePolicyId] = outcome.entityId?.split('_') ?? [];
            deps.logger.log(outcome.kind === 'complete' ? 'info' : 'warn', 'message.settled', {
                messageId: m.messageId,
                sequenceNumber: m.sequenceNumber,
                deliveryCount: m.deliveryCount,
                tenantId,
                compliancePolicyId,
                outcome: outcome.kind,
                write: outcome.kind === 'complete' ? outcome.write : undefined,
                reason: outcome.kind === 'deadLetter' ? outcome.reason : outcome.kind === 'retry' ? outcome.errorCode : undefined,
                graphRequestId: outcome.kind === 'deadLetter' ? outcome.properties.graphRequestId : outcome.kind === 'complete' || outcome.kind === 'retry' ? outcome.graphRequestId : undefined,
                durationMs: now() - started,
                ...origin,
            });
        }),
    );
    return summary;
}
