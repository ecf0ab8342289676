/**
 * Publishing aggregates to the ingest queue, for the `send` command and for TypeScript jobs that produce
 * aggregates themselves.
 */
import type { ServiceBusSender } from '@azure/service-bus';

import { decodeAggregate, validateAggregate, type DecodeResult } from '../contract/decode';
import { aggregateMessage, BatchPublisher, type OversizedMessage } from './publisher';

export { aggregateMessage, BatchPublisher, messageIdFor, type OversizedMessage } from './publisher';

export interface PublishOptions {
    /** Every message is scheduled for this time (`scheduledEnqueueTimeUtc`). */
    readonly scheduledAt?: Date;
    /** Called after each accepted batch with the running total of messages sent. */
    onProgress?(sent: number): void;
}

export interface InvalidRecord {
    /** 0-based position in `records`. */
    readonly index: number;
    readonly reason: string;
    readonly description: string;
}

export interface PublishResult {
    readonly sent: number;
    readonly batches: number;
    /** Invalid records, not sent (the first 1,000; `invalidCount` has them all). */
    readonly invalid: InvalidRecord[];
    readonly invalidCount: number;
    /** Valid records whose message exceeded the namespace's maximum size, not sent. */
    readonly oversized: OversizedMessage[];
}

const keptInvalid = 1_000;

/** Validate a record as the pipeline will: strings and bytes as a message body would be, anything else as a parsed value. */
export function validateRecord(record: unknown): DecodeResult {
    return typeof record === 'string' || record instanceof Uint8Array ? decodeAggregate(record) : validateAggregate(record);
}

/**
 * Validate each record with the inbound contract and send the valid ones in size-aware batches, each with its
 * deterministic message id. Records are sent as given (a string or bytes as the JSON body, an object serialised
 * by the SDK), so the pipeline validates the producer's own data. Send failures (connection, authorization)
 * reject; progress up to then was reported through `onProgress`.
 */
export async function publishAggregates(
    sender: ServiceBusSender,
    records: AsyncIterable<unknown> | Iterable<unknown>,
    options: PublishOptions = {},
): Promise<PublishResult> {
    const publisher = new BatchPublisher(sender, (sent) => options.onProgress?.(sent));
    const invalid: InvalidRecord[] = [];
    let invalidCount = 0;
    let index = 0;
    for await (const record of records) {
        const result = validateRecord(record);
        if (result.ok) {
            const body = record instanceof Uint8Array ? Buffer.from(record).toString('utf8') : (record as string | object);
            await publisher.add(aggregateMessage(body, result.aggregate, options.scheduledAt));
        } else {
            invalidCount++;
            if (invalid.length < keptInvalid) invalid.push({ index, reason: result.reason, description: result.description });
        }
        index++;
    }
    await publisher.flush();
    return { sent: publisher.sent, batches: publisher.batches, invalid, invalidCount, oversized: publisher.oversized };
}
