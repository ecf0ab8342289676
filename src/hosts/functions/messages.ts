import type { TriggerMetadata } from '@azure/functions';
import type { ServiceBusMessageContext } from '@azure/functions-extensions-servicebus';
import type { ServiceBusReceivedMessage } from '@azure/service-bus';

import type { InboundMessage } from '../../message';
import type { BatchItem } from '../../pipeline';

/**
 * The SDK-bound messages of one invocation as pipeline items.
 *
 * 0.2.0-preview loses deliveryCount, sequenceNumber and enqueuedTimeUtc (its decoder skips the AMQP header and
 * annotations), so those come from `context.triggerMetadata`: `<name>Array` for cardinality many, `<name>` for one.
 * Everything else (body, messageId, applicationProperties with their original key case) comes from the message.
 */
export function toBatchItems(
    sb: ServiceBusMessageContext,
    triggerMetadata: TriggerMetadata | undefined,
): BatchItem<ServiceBusReceivedMessage>[] {
    const messages = Array.isArray(sb.messages) ? sb.messages : sb.messages ? [sb.messages] : [];
    const metadata = triggerMetadata ?? {};
    const slotOf = metadataSlots(messages, metadata);
    return messages.map((handle, index) => {
        const slot = slotOf(index);
        const field = (name: string): unknown => metadataField(metadata, name, slot, messages.length);
        const message: InboundMessage = {
            body: handle.body,
            messageId: handle.messageId?.toString() ?? asString(field('messageId')),
            deliveryCount: previousDeliveries(field('deliveryCount')),
            sequenceNumber: asSequenceNumber(field('sequenceNumber')) ?? asSequenceNumber(handle.sequenceNumber?.toString()),
            enqueuedTimeUtc: asDate(field('enqueuedTimeUtc')) ?? handle.enqueuedTimeUtc,
            contentType: handle.contentType ?? asString(field('contentType')),
            applicationProperties: handle.applicationProperties ?? {},
        };
        return { handle, message };
    });
}

/**
 * Where message i's values sit in the metadata arrays. The host fills both from the same batch, so position
 * matches; when it sends lock tokens we pair by lock token instead, which does not depend on that order.
 */
function metadataSlots(messages: readonly ServiceBusReceivedMessage[], metadata: TriggerMetadata): (index: number) => number | undefined {
    const tokens = metadata.lockTokenArray;
    if (!Array.isArray(tokens)) return (index) => index;
    const byToken = new Map(tokens.map((t, i) => [String(t).toLowerCase(), i]));
    return (index) => {
        const token = messages[index]?.lockToken;
        return token ? byToken.get(token.toLowerCase()) : undefined;
    };
}

function metadataField(metadata: TriggerMetadata, name: string, slot: number | undefined, count: number): unknown {
    const values = metadata[`${name}Array`];
    if (Array.isArray(values)) return slot === undefined ? undefined : (values as unknown[])[slot];
    return count === 1 ? metadata[name] : undefined;
}

/**
 * The host reports .NET's DeliveryCount, which counts the current delivery (1 on first receipt). `InboundMessage`
 * follows `@azure/service-bus` JS: deliveries before this one (0 on first receipt).
 */
function previousDeliveries(value: unknown): number | undefined {
    const n = typeof value === 'string' ? Number(value) : value;
    return typeof n === 'number' && Number.isInteger(n) && n >= 1 ? n - 1 : undefined;
}

function asString(value: unknown): string | undefined {
    return typeof value === 'string' && value ? value : undefined;
}

function asSequenceNumber(value: unknown): bigint | number | undefined {
    if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
    if (typeof value === 'string' && /^\d+$/.test(value)) {
        const n = Number(value);
        return Number.isSafeInteger(n) ? n : BigInt(value);
    }
    return undefined;
}

function asDate(value: unknown): Date | undefined {
    if (typeof value !== 'string' && !(value instanceof Date)) return undefined;
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? undefined : date;
}
