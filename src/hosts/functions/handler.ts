import { AsyncLocalStorage } from 'node:async_hooks';
import os from 'node:os';

import type { InvocationContext } from '@azure/functions';
import type { ServiceBusMessageContext } from '@azure/functions-extensions-servicebus';
import type { ServiceBusReceivedMessage } from '@azure/service-bus';

import { createWriter } from '../../compose';
import { type IngestConfig, loadWorkerConfig, type Environment } from '../../config';
import { ensureError, redact } from '../../errors';
import type { EntityWriter } from '../../graph/writer';
import { formatLogLine, jsonLineLogger, type Logger, type LogLevel } from '../../log';
import { type BatchItem, ingestBatch } from '../../pipeline';
import { CircuitBreaker, defaultCircuitOptions } from '../../recoverability/circuit-breaker';
import { type BrokerSettlement, type Rescheduler, withDelayedRetries } from '../../recoverability/delayed-retry';
import { retryProperty } from '../../recoverability/retry-policy';
import { createServiceBusClient } from '../../servicebus';
import { toBatchItems } from './messages';
import { functionsBroker } from './settlement';

export type IngestHandler = (sb: ServiceBusMessageContext, context: InvocationContext) => Promise<void>;

export interface IngestHandlerDeps {
    readonly config: IngestConfig;
    /** One writer for the app: it shares Graph request slots and alarm throttling across invocations. */
    readonly writer: EntityWriter;
    /** Where delayed-retry copies go (a sender of our own: the host owns the trigger's connection). */
    readonly rescheduler?: Rescheduler;
    readonly now?: () => number;
    readonly hostname?: string;
}

/** One JSON line per record through the invocation's own log methods, so the host correlates it. */
export function invocationLogger(context: InvocationContext): Logger {
    const correlation = { invocationId: context.invocationId, functionName: context.functionName };
    const sinks: Record<LogLevel, (line: string) => void> = {
        debug: (l) => context.debug(l),
        info: (l) => context.log(l),
        warn: (l) => context.warn(l),
        error: (l) => context.error(l),
    };
    return { log: (level, event, fields) => sinks[level](formatLogLine(level, event, { ...correlation, ...fields })) };
}

const currentInvocation = new AsyncLocalStorage<Logger>();
const outsideInvocations = jsonLineLogger();

/**
 * For app-wide services (the Graph writer): logs go to whichever invocation the call runs in, so concurrent
 * invocations keep their own lines; outside any invocation they go to stderr.
 */
export const invocationLogs: Logger = {
    log: (level, event, fields) => (currentInvocation.getStore() ?? outsideInvocations).log(level, event, fields),
};

async function abandonAll(
    items: readonly BatchItem<ServiceBusReceivedMessage>[],
    broker: BrokerSettlement<ServiceBusReceivedMessage>,
    logger: Logger,
): Promise<void> {
    await Promise.all(
        items.map(async ({ handle, message }) => {
            try {
                await broker.abandon(handle, { [retryProperty.lastErrorCode]: 'BatchFailed' });
            } catch (err) {
                const error = redact(ensureError(err).message);
                logger.log('error', 'settlement.failed', { messageId: message.messageId, outcome: 'retry', error });
            }
        }),
    );
}

/**
 * The Service Bus batch handler. Every message is settled explicitly (autoCompleteMessages is off) and
 * per-message problems never throw: a throw would leave the whole batch locked until the locks expire.
 */
export function createIngestHandler(deps: IngestHandlerDeps): IngestHandler {
    const now = deps.now ?? Date.now;
    const hostname = deps.hostname ?? os.hostname();
    return async (sb, context) => {
        const logger = invocationLogger(context);
        const started = now();
        // Batch functions get no automatic lock renewal: finish (or give back) everything well inside the lock.
        const deadlineAt = started + deps.config.batchBudgetMs;
        const broker = functionsBroker(sb.actions);
        const settlement = withDelayedRetries(broker, deps.rescheduler, logger);
        let items: BatchItem<ServiceBusReceivedMessage>[] = [];
        await currentInvocation.run(logger, async () => {
            try {
                items = toBatchItems(sb, context.triggerMetadata);
                const summary = await ingestBatch(
                    items,
                    {
                        writer: deps.writer,
                        settlement,
                        logger,
                        origin: { host: hostname, function: context.functionName },
                        now,
                        retryPolicy: deps.config.retry,
                    },
                    { deadlineAt },
                );
                logger.log(summary.settlementFailures ? 'warn' : 'info', 'batch.settled', { ...summary, durationMs: now() - started });
            } catch (err) {
                // A defect: the pipeline settles nothing before every decision is made, so hand the batch back now
                // instead of leaving it locked, then fail the invocation so it shows up as failed.
                logger.log('error', 'batch.failed', { received: items.length, error: redact(ensureError(err).message) });
                await abandonAll(items, broker, logger);
                throw err;
            }
        });
    };
}

/**
 * Composition for the Functions host: settings are read once, so a misconfigured app fails at start.
 * The Service Bus settings the trigger uses also give us a sender for delayed retries (Data Sender role).
 */
export function ingestHandlerFromEnvironment(env: Environment = process.env): IngestHandler {
    const config = loadWorkerConfig(env);
    const circuit = new CircuitBreaker(invocationLogs, { ...defaultCircuitOptions, coolDownMs: config.circuitCoolDownMs });
    // The client connects on first use, so an app that never retries never opens a second connection.
    const sender = createServiceBusClient(config.serviceBus).createSender(config.queueName);
    return createIngestHandler({ config, writer: circuit.wrap(createWriter(config.graph, invocationLogs)), rescheduler: sender });
}
