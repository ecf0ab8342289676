/**
 * Operations on a queue's dead-letter queue: list and show (peek, no locks), replay (copy back to the queue,
 * then complete) and purge. None of them reads the main queue, so they are safe while the Function or the
 * worker is running.
 */
import type {
    ServiceBusClient, ServiceBusMessage, ServiceBusReceivedMessage, ServiceBusReceiver,
} from '@azure/service-bus';
import Long from 'long';

export interface DeadLetterFilter {
    /** Dead-letter reason code, exact match (e.g. `SchemaViolation`, `MaxDeliveryCountExceeded`). */
    readonly reason?: string;
    /** Dead-lettered at or after (the pipeline's `deadLetteredAt` stamp, else the enqueued time). */
    readonly since?: Date;
    /** Tenant id, any case. */
    readonly tenant?: string;
}

/** What operators see of one dead-lettered message. */
export interface DeadLetterEntry {
    readonly sequenceNumber: string;
    readonly enqueuedTimeUtc?: Date;
    readonly deadLetteredAt?: Date;
    readonly messageId?: string;
    readonly reason?: string;
    readonly description?: string;
    readonly tenantId?: string;
    readonly compliancePolicyId?: string;
    readonly deliveryCount?: number;
    readonly contentType?: string;
    readonly applicationProperties: Readonly<Record<string, unknown>>;
    /** The body parsed as JSON when it is JSON, else its text (or the value the broker delivered). */
    readonly body: unknown;
}

/** Receiver options every DLQ operation uses: raw bodies, so a replay re-sends the exact bytes. */
const deadLetterReceiverOptions = { subQueueType: 'deadLetter', skipParsingBodyAsJson: true } as const;

function parsedBody(body: unknown): unknown {
    const text = Buffer.isBuffer(body) || body instanceof Uint8Array ? Buffer.from(body).toString('utf8') : body;
    if (typeof text !== 'string') return text;
    try {
        return JSON.parse(text) as unknown;
    } catch {
        return text;
    }
}

function stringProperty(source: unknown, key: string): string | undefined {
    if (typeof source !== 'object' || source === null) return undefined;
    const value = (source as Record<string, unknown>)[key];
    return typeof value === 'string' && value !== '' ? value : undefined;
}

function dateOf(value: unknown): Date | undefined {
    if (value instanceof Date) return value;
    if (typeof value !== 'string') return undefined;
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? undefined : date;
}

export function describeDeadLetter(message: ServiceBusReceivedMessage): DeadLetterEntry {
    const properties = message.applicationProperties ?? {};
    const body = parsedBody(message.body);
    const tenantId = stringProperty(body, 'tenantId') ?? stringProperty(properties, 'tenantId');
    const compliancePolicyId = stringProperty(body, 'compliancePolicyId') ?? stringProperty(properties, 'compliancePolicyId');
    const deadLetteredAt = dateOf(properties.deadLetteredAt);
    const reason = message.deadLetterReason ?? stringProperty(properties, 'DeadLetterReason');
    const description = message.deadLetterErrorDescription ?? stringProperty(properties, 'DeadLetterErrorDescription');
    return {
        sequenceNumber: message.sequenceNumber?.toString() ?? '',
        applicationProperties: properties,
        body,
        ...(message.enqueuedTimeUtc ? { enqueuedTimeUtc: message.enqueuedTimeUtc } : {}),
        ...(deadLetteredAt ? { deadLetteredAt } : {}),
        ...(message.messageId !== undefined ? { messageId: String(message.messageId) } : {}),
        ...(reason ? { reason } : {}),
        ...(description ? { description } : {}),
        ...(tenantId ? { tenantId } : {}),
        ...(compliancePolicyId ? { compliancePolicyId } : {}),
        ...(message.deliveryCount !== undefined ? { deliveryCount: message.deliveryCount } : {}),
        ...(message.contentType ? { contentType: message.contentType } : {}),
    };
}

export function hasFilter(filter: DeadLetterFilter): boolean {
    return filter.reason !== undefined || filter.since !== undefined || filter.tenant !== undefined;
}

export function matchesFilter(entry: DeadLetterEntry, filter: DeadLetterFilter): boolean {
    if (filter.reason !== undefined && entry.reason !== filter.reason) return false;
    if (filter.tenant !== undefined && entry.tenantId?.toLowerCase() !== filter.tenant.toLowerCase()) return false;
    if (filter.since !== undefined) {
        const at = entry.deadLetteredAt ?? entry.enqueuedTimeUtc;
        if (!at || at.getTime() < filter.since.getTime()) return false;
    }
    return true;
}

export interface ListOptions {
    readonly filter?: DeadLetterFilter;
    /** Stop after this many matching messages. */
    readonly max?: number;
    readonly pageSize?: number;
}

/** Peek the DLQ page by page (no locks, nothing changes) and yield the matching messages. */
export async function* listDeadLetters(client: ServiceBusClient, queue: string, options: ListOptions = {}): AsyncGenerator<DeadLetterEntry> {
    const receiver = client.createReceiver(queue, deadLetterReceiverOptions);
    const filter = options.filter ?? {};
    let found = 0;
    try {
        for (;;) {
            // Each peek continues after the last sequence number this receiver has seen.
            const page = await receiver.peekMessages(options.pageSize ?? 100);
            if (page.length === 0) return;
            for (const message of page) {
                const entry = describeDeadLetter(message);
                if (!matchesFilter(entry, filter)) continue;
                yield entry;
                if (options.max !== undefined && ++found >= options.max) return;
            }
        }
    } finally {
        await receiver.close();
    }
}

/** One dead-lettered message by sequence number, or undefined when there is none. */
export async function showDeadLetter(client: ServiceBusClient, queue: string, sequenceNumber: string): Promise<DeadLetterEntry | undefined> {
    const receiver = client.createReceiver(queue, deadLetterReceiverOptions);
    try {
        const [message] = await receiver.peekMessages(1, { fromSequenceNumber: Long.fromString(sequenceNumber) });
        return message?.sequenceNumber?.toString() === sequenceNumber ? describeDeadLetter(message) : undefined;
    } finally {
        await receiver.close();
    }
}

/**
 * The copy a replay sends back to the queue: the same body bytes, message id, content type and properties,
 * with `replayCount` incremented and the dead-letter reason kept as `originalDeadLetterReason`.
 */
/**
 * The copy a replay sends. It gets a fresh retry budget (no `ci-*` bookkeeping) and a message id derived
 * from the original plus the replay count: re-using the original id would let duplicate detection drop
 * the copy inside its window, while a per-replay id still makes a replay repeated after a crash one message.
 */
export function replayCopy(message: ServiceBusReceivedMessage): ServiceBusMessage {
    const properties: Record<string, number | boolean | string | Date | null> = {};
    for (const [key, value] of Object.entries(message.applicationProperties ?? {})) {
        if (key !== 'DeadLetterReason' && key !== 'DeadLetterErrorDescription' && !key.startsWith('ci-')) properties[key] = value;
    }
    const previous = Number(properties.replayCount ?? 0);
    const replayCount = (Number.isSafeInteger(previous) && previous > 0 ? previous : 0) + 1;
    properties.replayCount = replayCount;
    if (message.deadLetterReason) properties.originalDeadLetterReason = message.deadLetterReason;
    const id = message.messageId === undefined ? undefined : String(message.messageId);
    const originalId = typeof properties.originalMessageId === 'string' ? properties.originalMessageId : id?.replace(/#(replay\d+|r\d+)$/, '');
    if (originalId !== undefined) properties.originalMessageId = originalId;
    return {
        body: message.body as unknown,
        applicationProperties: properties,
        ...(originalId !== undefined ? { messageId: `${originalId.slice(0, 110)}#replay${replayCount}` } : {}),
        ...(message.contentType ? { contentType: message.contentType } : {}),
        ...(message.correlationId !== undefined ? { correlationId: message.correlationId } : {}),
        ...(message.subject ? { subject: message.subject } : {}),
        ...(message.partitionKey ? { partitionKey: message.partitionKey } : {}),
        ...(message.sessionId ? { sessionId: message.sessionId } : {}),
    };
}

export interface ScanOptions {
    readonly filter?: DeadLetterFilter;
    readonly max?: number;
    /** Messages per receive (default 100). */
    readonly batchSize?: number;
    /** How long a receive waits for the first message before the DLQ counts as drained (default 1000 ms). */
    readonly maxWaitTimeInMs?: number;
    readonly onProgress?: (done: number) => void;
}

/**
 * Receive matching DLQ messages in peekLock and hand each to `settle`. Non-matching messages stay locked
 * (auto-renewed) until the scan ends, so the receiver moves past them, then are abandoned back to the DLQ.
 * Abandon raises their delivery count, but the DLQ never dead-letters again, so nothing else changes.
 */
async function scanDeadLetters(
    receiver: ServiceBusReceiver,
    options: ScanOptions,
    settle: (message: ServiceBusReceivedMessage) => Promise<boolean>,
): Promise<number> {
    const held: ServiceBusReceivedMessage[] = [];
    const filter = options.filter ?? {};
    let done = 0;
    try {
        for (;;) {
            const batch = await receiver.receiveMessages(options.batchSize ?? 100, { maxWaitTimeInMs: options.maxWaitTimeInMs ?? 1_000 });
            if (batch.length === 0) return done;
            for (const message of batch) {
                const wanted = (options.max === undefined || done < options.max) && matchesFilter(describeDeadLetter(message), filter);
                if (wanted && (await settle(message))) {
                    done++;
                    options.onProgress?.(done);
                } else {
                    held.push(message);
                }
            }
            if (options.max !== undefined && done >= options.max) return done;
        }
    } finally {
        await Promise.all(held.map((message) => receiver.abandonMessage(message).catch(() => undefined)));
    }
}

export interface ReplayOptions extends ScanOptions {
    /** Only count what would be replayed (peek, nothing is locked or sent). */
    readonly dryRun?: boolean;
    /** Called after the copy is sent and before the DLQ message is completed (tests inject a crash here). */
    readonly beforeComplete?: (message: ServiceBusReceivedMessage) => void | Promise<void>;
}

export interface ReplayResult {
    readonly replayed: number;
    /** Replayed messages whose DLQ original could not be completed (it stays in the DLQ: a duplicate, never a loss). */
    readonly completeFailures: number;
}

/**
 * Re-send matching DLQ messages to the queue, copy FIRST and complete AFTER, so a crash between the two can
 * only duplicate a message (absorbed by the pipeline's idempotent write), never lose one.
 */
export async function replayDeadLetters(client: ServiceBusClient, queue: string, options: ReplayOptions = {}): Promise<ReplayResult> {
    if (options.dryRun) {
        let replayed = 0;
        for await (const _entry of listDeadLetters(client, queue, options)) replayed++;
        return { replayed, completeFailures: 0 };
    }
    const receiver = client.createReceiver(queue, { ...deadLetterReceiverOptions, maxAutoLockRenewalDurationInMs: 30 * 60_000 });
    const sender = client.createSender(queue);
    // Copies this run sent: if one fails again while we are still scanning, it must not be replayed in a loop.
    const sentCopies = new Set<string>();
    let completeFailures = 0;
    try {
        const replayed = await scanDeadLetters(receiver, options, async (message) => {
            if (sentCopies.has(copyKey(message.messageId, message.applicationProperties?.replayCount))) return false;
            const copy = replayCopy(message);
            await sender.sendMessages(copy);
            sentCopies.add(copyKey(copy.messageId, copy.applicationProperties?.replayCount));
            await options.beforeComplete?.(message);
            try {
                await receiver.completeMessage(message);
            } catch {
                completeFailures++;
            }
            return true;
        });
        return { replayed, completeFailures };
    } finally {
        await sender.close();
        await receiver.close();
    }
}

function copyKey(messageId: unknown, replayCount: unknown): string {
    return `${String(messageId)}\u0000${String(replayCount)}`;
}

export type PurgeOptions = ScanOptions;

/**
 * Delete matching DLQ messages for good. Without a filter, receiveAndDelete; with one, peekLock + complete so
 * the messages that do not match stay.
 */
export async function purgeDeadLetters(client: ServiceBusClient, queue: string, options: PurgeOptions = {}): Promise<number> {
    if (!hasFilter(options.filter ?? {})) {
        const receiver = client.createReceiver(queue, { ...deadLetterReceiverOptions, receiveMode: 'receiveAndDelete' });
        let purged = 0;
        try {
            for (;;) {
                const want = Math.min(options.batchSize ?? 100, options.max === undefined ? Infinity : options.max - purged);
                if (want <= 0) return purged;
                const batch = await receiver.receiveMessages(want, { maxWaitTimeInMs: options.maxWaitTimeInMs ?? 1_000 });
                if (batch.length === 0) return purged;
                purged += batch.length;
                options.onProgress?.(purged);
            }
        } finally {
            await receiver.close();
        }
    }
    const receiver = client.createReceiver(queue, { ...deadLetterReceiverOptions, maxAutoLockRenewalDurationInMs: 30 * 60_000 });
    try {
        return await scanDeadLetters(receiver, options, async (message) => {
            await receiver.completeMessage(message);
            return true;
        });
    } finally {
        await receiver.close();
    }
}
