/**
 * The `<entity>/$management` request/response node: lock renewal, peek, scheduling, deferred retrieval and
 * settlement by lock token. Replies use the camelCase status keys the SDK expects here (CBS uses kebab-case).
 */
import { message as rheaMessage, types } from 'rhea';

import { encodedSize, uuidBytes, uuidText } from './codec';
import type { Queue } from './entity';
import { conditions, ServiceBusFault } from './faults';

export interface ManagementReply {
    statusCode: number;
    statusDescription: string;
    errorCondition?: string;
    body?: unknown;
}

const timestampCode = 0x83;
const longCode = 0x81;

function asNumber(value: unknown): number {
    if (Buffer.isBuffer(value) && value.length === 8) return Number(value.readBigInt64BE());
    if (typeof value === 'number') return value;
    throw new ServiceBusFault(conditions.notAllowed, `expected a long, got ${typeof value}`, 400);
}

function asList(value: unknown): unknown[] {
    return Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
}

function lockTokens(body: Record<string, unknown>): string[] {
    return asList(body['lock-tokens']).map((token) => {
        if (!Buffer.isBuffer(token) || token.length !== 16) {
            throw new ServiceBusFault(conditions.notAllowed, 'lock-tokens must be uuids', 400);
        }
        return uuidText(token);
    });
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
    return typeof value === 'object' && value !== null && !Buffer.isBuffer(value) ? (value as Record<string, unknown>) : undefined;
}

const ok = (body?: unknown): ManagementReply => ({ statusCode: 200, statusDescription: 'OK', body });

type Operation = (queue: Queue, body: Record<string, unknown>, maxMessageSizeBytes: number) => ManagementReply;

const operations: Record<string, Operation> = {
    'com.microsoft:renew-lock': (queue, body) => {
        const expirations = lockTokens(body).map((token) => new Date(queue.renewLock(token)));
        return ok({ expirations: types.wrap_array(expirations, timestampCode, undefined) });
    },
    'com.microsoft:peek-message': (queue, body) => {
        const count = typeof body['message-count'] === 'number' ? body['message-count'] : 1;
        const messages = queue.peek(asNumber(body['from-sequence-number']), count);
        if (messages.length === 0) return { statusCode: 204, statusDescription: 'No Content' };
        return ok({ messages: messages.map((message) => ({ message })) });
    },
    'com.microsoft:schedule-message': (queue, body, maxMessageSizeBytes) => {
        const decoded = asList(body.messages).map((entry) => {
            const encoded = asRecord(entry)?.message;
            if (!Buffer.isBuffer(encoded)) throw new ServiceBusFault(conditions.notAllowed, 'each scheduled entry needs a message', 400);
            return rheaMessage.decode(encoded);
        });
        const prepared = queue.prepare(decoded);
        if (prepared.some((msg) => encodedSize(msg) > maxMessageSizeBytes)) {
            const description = `The message exceeds the maximum size of ${maxMessageSizeBytes} bytes.`;
            throw new ServiceBusFault(conditions.sizeExceeded, description, 413);
        }
        queue.enqueue(prepared);
        return ok({ 'sequence-numbers': types.wrap_array(prepared.map((msg) => msg.sequenceNumber), longCode, undefined) });
    },
    'com.microsoft:cancel-scheduled-message': (queue, body) => {
        queue.cancelScheduled(asList(body['sequence-numbers']).map(asNumber));
        return ok();
    },
    'com.microsoft:receive-by-sequence-number': (queue, body) => {
        const mode = body['receiver-settle-mode'] === 0 ? 'receiveAndDelete' : 'peekLock';
        const received = queue.receiveDeferred(asList(body['sequence-numbers']).map(asNumber), mode);
        return ok({
            messages: received.map(({ payload, lockToken }) =>
                lockToken ? { 'lock-token': types.wrap_uuid(uuidBytes(lockToken)), message: payload } : { message: payload }),
        });
    },
    'com.microsoft:update-disposition': (queue, body) => {
        const properties = asRecord(body['properties-to-modify']);
        for (const token of lockTokens(body)) {
            switch (body['disposition-status']) {
                case 'completed':
                    queue.complete(token);
                    break;
                case 'abandoned':
                    queue.abandon(token, properties);
                    break;
                case 'defered': // sic: the service's spelling
                    queue.defer(token, properties);
                    break;
                case 'suspended':
                    queue.deadLetter(token, {
                        reason: body['deadletter-reason'] as string | undefined,
                        description: body['deadletter-description'] as string | undefined,
                        properties,
                    });
                    break;
                default:
                    throw new ServiceBusFault(
                        conditions.notAllowed, `unknown disposition-status ${String(body['disposition-status'])}`, 400);
            }
        }
        return ok();
    },
};

/** Run one management operation against a queue; faults become error replies carrying `errorCondition`. */
export function handleManagementRequest(queue: Queue, operation: unknown, body: unknown, maxMessageSizeBytes: number): ManagementReply {
    const handler = typeof operation === 'string' ? operations[operation] : undefined;
    if (!handler) {
        return {
            statusCode: 501,
            statusDescription: `Operation ${String(operation)} is not supported`,
            errorCondition: conditions.notImplemented,
        };
    }
    try {
        return handler(queue, asRecord(body) ?? {}, maxMessageSizeBytes);
    } catch (err) {
        if (err instanceof ServiceBusFault) {
            return { statusCode: err.statusCode, statusDescription: err.description, errorCondition: err.condition };
        }
        throw err;
    }
}
