import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

import type { ServiceBusClient, ServiceBusReceivedMessage, ServiceBusReceiver } from '@azure/service-bus';

import { ensureError, redact } from '../../errors';
import type { EntityWriter } from '../../graph/writer';
import type { Logger } from '../../log';
import { type BatchSummary, ingestBatch } from '../../pipeline';
import type { CircuitBreaker } from '../../recoverability/circuit-breaker';
import { type Rescheduler, withDelayedRetries } from '../../recoverability/delayed-retry';
import type { RetryPolicy } from '../../recoverability/retry-policy';
import type { Settlement } from '../../settlement';
import { receiverSettlement } from './settlement';

export interface WorkerOptions {
    readonly queueName: string;
    /** Messages per receive; each batch goes through the pipeline together. */
    readonly batchSize: number;
    /** Receive loops in flight at once. */
    readonly loops: number;
    /** How long one receive waits for the first message. */
    readonly receiveWaitMs: number;
    /** How long one batch may take before unfinished messages are given back (inside the lock). */
    readonly batchBudgetMs: number;
    /** Drain mode: stop once no message has arrived for this long. */
    readonly drainIdleMs?: number;
}

export interface WorkerDeps {
    readonly client: ServiceBusClient;
    readonly writer: EntityWriter;
    readonly logger: Logger;
    /** Where delayed-retry copies go; without one, retries fall back to abandon. */
    readonly rescheduler?: Rescheduler;
    readonly retryPolicy?: RetryPolicy;
    /** While it is open the worker stops receiving (as it does during a Graph-wide Retry-After pause). */
    readonly circuit?: CircuitBreaker;
    /** Called after every settled batch with the running totals. */
    readonly onProgress?: (totals: WorkerTotals) => void;
}

export interface WorkerTotals {
    received: number;
    completed: number;
    deadLettered: Record<string, number>;
    retried: number;
    settlementFailures: number;
    batches: number;
    /** Graph requests the writer currently allows in flight (adaptive). */
    graphConcurrency?: number;
    readonly startedAt: number;
}

// Four loops of 100, each receiving its next batch while the last one is written, hide Graph latency (docs/performance.md).
export const defaultWorkerOptions = { batchSize: 100, loops: 4, receiveWaitMs: 1_000 } as const;

function addSummary(totals: WorkerTotals, s: BatchSummary): void {
    totals.received += s.received;
    totals.completed += s.completed;
    totals.retried += s.retried;
    totals.settlementFailures += s.settlementFailures;
    totals.batches++;
    for (const [reason, n] of Object.entries(s.deadLettered)) totals.deadLettered[reason] = (totals.deadLettered[reason] ?? 0) + n;
}

/**
 * The standalone host: peekLock receive loops feeding the shared pipeline. Stops when `signal` aborts
 * (after settling what it holds) or, in drain mode, when the queue has been idle long enough.
 */
export async function runWorker(options: WorkerOptions, deps: WorkerDeps, signal: AbortSignal): Promise<WorkerTotals> {
    const totals: WorkerTotals = { received: 0, completed: 0, deadLettered: {}, retried: 0, settlementFailures: 0, batches: 0, startedAt: Date.now() };
    const origin = { host: hostname(), function: 'worker' };
    let lastMessageAt = Date.now();
    const stop = new AbortController();
    const stopped = () => signal.aborted || stop.signal.aborted;

    const loop = async (id: number) => {
        let receiver: ServiceBusReceiver | undefined;
        let settlement: Settlement<ServiceBusReceivedMessage> | undefined;
        // The batch being written while the next one is received: receiving no longer waits for Graph.
        let inFlight: Promise<void> | undefined;
        let failures = 0;
        try {
            while (!stopped()) {
                // An open circuit or a Graph-wide Retry-After: leave the messages in the queue rather than cycle them.
                const pausedFor = Math.max(deps.circuit?.reopensAt ?? 0, deps.writer.pausedUntil ?? 0) - Date.now();
                if (pausedFor > 0) {
                    await sleep(Math.min(pausedFor, 1_000));
                    continue;
                }
                // The SDK recovers its connection; a receiver it had to close is replaced here. One settlement per
                // receiver, so its dispositions stay ordered across overlapping batches.
                if (!receiver || receiver.isClosed || !settlement) {
                    receiver = deps.client.createReceiver(options.queueName, { receiveMode: 'peekLock', skipParsingBodyAsJson: true });
                    settlement = withDelayedRetries(receiverSettlement(receiver), deps.rescheduler, deps.logger);
                }
                let messages;
                try {
                    messages = await receiver.receiveMessages(options.batchSize, { maxWaitTimeInMs: options.receiveWaitMs });
                    failures = 0;
                } catch (err) {
                    failures++;
                    deps.logger.log('warn', 'worker.receive_failed', { loop: id, attempt: failures, error: redact(ensureError(err).message) });
                    await sleep(Math.min(30_000, 250 * 2 ** Math.min(failures, 7)));
                    continue;
                }
                if (messages.length === 0) {
                    if (options.drainIdleMs !== undefined && Date.now() - lastMessageAt >= options.drainIdleMs) stop.abort();
                    continue;
                }
                lastMessageAt = Date.now();
                await inFlight;
                inFlight = ingest(messages, settlement).catch((err: unknown) => {
                    // ingestBatch settles or logs every message itself; reaching here is a defect, and the locks lapse.
                    deps.logger.log('error', 'worker.batch_failed', { loop: id, error: redact(ensureError(err).message) });
                });
            }
        } finally {
            await inFlight;
            await receiver?.close().catch(() => undefined);
        }
    };

    const ingest = async (messages: ServiceBusReceivedMessage[], settlement: Settlement<ServiceBusReceivedMessage>) => {
        const summary = await ingestBatch(
            messages.map((m) => ({
                handle: m,
                message: {
                    body: m.body as unknown,
                    messageId: typeof m.messageId === 'string' ? m.messageId : m.messageId?.toString(),
                    deliveryCount: m.deliveryCount,
                    sequenceNumber: m.sequenceNumber ? BigInt(m.sequenceNumber.toString()) : undefined,
                    enqueuedTimeUtc: m.enqueuedTimeUtc,
                    contentType: m.contentType,
                    applicationProperties: m.applicationProperties,
                },
            })),
            { writer: deps.writer, settlement, logger: deps.logger, origin, ...(deps.retryPolicy ? { retryPolicy: deps.retryPolicy } : {}) },
            { deadlineAt: Date.now() + options.batchBudgetMs },
        );
        addSummary(totals, summary);
        totals.graphConcurrency = deps.writer.concurrency;
        deps.onProgress?.(totals);
    };

    await Promise.all(Array.from({ length: options.loops }, (_, i) => loop(i)));
    return totals;
}
