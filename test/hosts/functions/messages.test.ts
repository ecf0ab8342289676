import type { ServiceBusMessageContext } from '@azure/functions-extensions-servicebus';
import type { ServiceBusReceivedMessage } from '@azure/service-bus';
import { describe, expect, it } from 'vitest';

import { toBatchItems } from '../../../src/hosts/functions/messages';

const actions = {} as ServiceBusMessageContext['actions'];

/** What 0.2.0-preview hands over: deliveryCount 0 and no sequence number or enqueued time (its bug 3). */
function received(n: number, overrides: Partial<ServiceBusReceivedMessage> = {}): ServiceBusReceivedMessage {
    return {
        body: { n },
        messageId: `m${n}`,
        lockToken: `0000000${n}-0000-4000-8000-000000000000`,
        contentType: 'application/json',
        applicationProperties: { Tenant: 't1' },
        deliveryCount: 0,
        state: 'active',
        ...overrides,
    } as ServiceBusReceivedMessage;
}

describe('toBatchItems', () => {
    it('takes delivery facts from the batch trigger metadata and the rest from the message', () => {
        const [a, b] = [received(1), received(2, { body: 'plain text', contentType: undefined })];
        const items = toBatchItems(
            { messages: [a, b], actions },
            {
                deliveryCountArray: [1, 4],
                sequenceNumberArray: [17, 18],
                enqueuedTimeUtcArray: ['2026-01-01T00:00:00.1234567Z', '2026-01-01T00:00:01Z'],
                messageIdArray: ['m1', 'm2'],
                contentTypeArray: ['application/json', 'text/plain'],
            },
        );
        expect(items.map((i) => i.handle)).toEqual([a, b]);
        expect(items.map((i) => i.message)).toEqual([
            {
                body: { n: 1 },
                messageId: 'm1',
                deliveryCount: 0,
                sequenceNumber: 17,
                enqueuedTimeUtc: new Date('2026-01-01T00:00:00.123Z'),
                contentType: 'application/json',
                applicationProperties: { Tenant: 't1' },
            },
            {
                body: 'plain text',
                messageId: 'm2',
                deliveryCount: 3,
                sequenceNumber: 18,
                enqueuedTimeUtc: new Date('2026-01-01T00:00:01Z'),
                contentType: 'text/plain',
                applicationProperties: { Tenant: 't1' },
            },
        ]);
    });

    it('pairs messages with metadata by lock token when the host sends lock tokens', () => {
        const [a, b] = [received(1), received(2)];
        const items = toBatchItems(
            { messages: [a, b], actions },
            { lockTokenArray: [b.lockToken!.toUpperCase(), a.lockToken], deliveryCountArray: [5, 1], sequenceNumberArray: [2, 1] },
        );
        expect(items.map((i) => [i.message.deliveryCount, i.message.sequenceNumber])).toEqual([
            [0, 1],
            [4, 2],
        ]);
    });

    it('accepts a single message with single-valued metadata (cardinality one)', () => {
        const single = { deliveryCount: 2, sequenceNumber: '9007199254740993', enqueuedTimeUtc: 'x' };
        const items = toBatchItems({ messages: received(1), actions }, single);
        expect(items).toHaveLength(1);
        expect(items[0]!.message).toMatchObject({ deliveryCount: 1, sequenceNumber: 9007199254740993n, enqueuedTimeUtc: undefined });
    });

    it("leaves facts unknown rather than trusting 0.2.0-preview's zero when the metadata is missing", () => {
        const [item] = toBatchItems({ messages: [received(1)], actions }, undefined);
        expect(item!.message.deliveryCount).toBeUndefined();
        expect(item!.message.sequenceNumber).toBeUndefined();
        expect(item!.message.messageId).toBe('m1');
    });

    it('ignores metadata arrays that do not line up and implausible values', () => {
        const [item] = toBatchItems(
            { messages: [received(1, { messageId: undefined })], actions },
            { lockTokenArray: ['someone-else'], deliveryCountArray: [3], messageIdArray: ['other'], sequenceNumberArray: [-1] },
        );
        expect(item!.message).toMatchObject({ deliveryCount: undefined, messageId: undefined, sequenceNumber: undefined });
    });

    it('returns no items for an empty delivery', () => {
        expect(toBatchItems({ messages: [], actions }, {})).toEqual([]);
    });
});
