import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { receiveAtLeast, startFixture, type EmulatorFixture } from './emulator-fixture';

describe('Service Bus emulator: send, receive and settle with @azure/service-bus', () => {
    let fx: EmulatorFixture;

    beforeAll(async () => {
        fx = await startFixture({ queues: [{ name: 'orders' }, { name: 'Mixed-Case' }] });
    });
    afterAll(async () => {
        await fx.close();
    });
    beforeEach(() => {
        fx.emulator.reset();
    });

    it('delivers a single message in peekLock with broker annotations and a broker-assigned message id', async () => {
        const client = fx.client();
        const sender = client.createSender('orders');
        const receiver = client.createReceiver('orders');
        await sender.sendMessages({ body: { tenant: 't1' }, applicationProperties: { kind: 'aggregate' } });

        const [msg] = await receiveAtLeast(receiver, 1);
        expect(msg!.body).toEqual({ tenant: 't1' });
        expect(msg!.applicationProperties).toEqual({ kind: 'aggregate' });
        expect(msg!.messageId).toMatch(/^[0-9a-f]{32}$/);
        expect(msg!.deliveryCount).toBe(0);
        expect(msg!.sequenceNumber!.toNumber()).toBeGreaterThan(0);
        expect(msg!.enqueuedTimeUtc).toBeInstanceOf(Date);
        expect(msg!.lockedUntilUtc!.getTime()).toBeGreaterThan(Date.now() + 30_000);
        expect(msg!.lockToken).toMatch(/^[0-9a-f-]{36}$/);
        expect(fx.emulator.counts('orders')).toMatchObject({ active: 0, locked: 1 });

        await receiver.completeMessage(msg!);
        expect(fx.emulator.counts('orders')).toEqual({ active: 0, locked: 0, scheduled: 0, deferred: 0, deadLettered: 0 });
        await expect(receiver.completeMessage(msg!)).rejects.toThrow();
        await sender.close();
        await receiver.close();
    });

    it('accepts a batch (format 0x80013700) bounded by the advertised max message size', async () => {
        const client = fx.client();
        const sender = client.createSender('orders');
        const batch = await sender.createMessageBatch();
        expect(batch.maxSizeInBytes).toBe(262_144);
        for (let i = 0; i < 3; i++) expect(batch.tryAddMessage({ body: `m${i}`, messageId: `id-${i}` })).toBe(true);
        await sender.sendMessages(batch);
        await sender.sendMessages([{ body: 'a1' }, { body: 'a2' }]);

        const receiver = client.createReceiver('orders', { receiveMode: 'receiveAndDelete' });
        const received = await receiveAtLeast(receiver, 5);
        expect(received.map((m) => m.body as unknown)).toEqual(['m0', 'm1', 'm2', 'a1', 'a2']);
        expect(received.map((m) => m.messageId).slice(0, 3)).toEqual(['id-0', 'id-1', 'id-2']);
        expect(received.every((m) => m.lockToken === undefined)).toBe(true);
        expect(fx.emulator.counts('orders')).toMatchObject({ active: 0, locked: 0 });
    });

    it('rejects an oversized message with MessageSizeExceeded', async () => {
        const sender = fx.client().createSender('orders');
        await expect(sender.sendMessages({ body: Buffer.alloc(300_000) })).rejects.toMatchObject({ code: 'MessageSizeExceeded' });
        expect(fx.emulator.counts('orders').active).toBe(0);
    });

    it('answers MessagingEntityNotFound for undeclared queues, and treats names case-insensitively', async () => {
        const client = fx.client();
        await expect(client.createSender('nope').sendMessages({ body: 1 })).rejects.toMatchObject({ code: 'MessagingEntityNotFound' });
        await expect(client.createReceiver('nope').receiveMessages(1, { maxWaitTimeInMs: 200 }))
            .rejects.toMatchObject({ code: 'MessagingEntityNotFound' });

        await client.createSender('MIXED-case').sendMessages({ body: 'x' });
        expect(fx.emulator.counts('mixed-CASE').active).toBe(1);
        expect(fx.emulator.queueNames()).toContain('Mixed-Case');
    });

    it('abandon redelivers with deliveryCount + 1 and applies propertiesToModify', async () => {
        const client = fx.client();
        await client.createSender('orders').sendMessages({ body: 'retry me', applicationProperties: { a: 1 } });
        const receiver = client.createReceiver('orders');
        const [first] = await receiveAtLeast(receiver, 1);
        await receiver.abandonMessage(first!, { retried: true });

        const [second] = await receiveAtLeast(receiver, 1);
        expect(second!.deliveryCount).toBe(1);
        expect(second!.applicationProperties).toEqual({ a: 1, retried: true });
        expect(second!.messageId).toBe(first!.messageId);
        await receiver.completeMessage(second!);
    });

    it('defers a message and returns it by sequence number; settlement then goes through $management', async () => {
        const client = fx.client();
        await client.createSender('orders').sendMessages({ body: 'later' });
        const receiver = client.createReceiver('orders');
        const [msg] = await receiveAtLeast(receiver, 1);
        await receiver.deferMessage(msg!, { why: 'waiting' });
        expect(fx.emulator.counts('orders')).toMatchObject({ active: 0, deferred: 1 });

        const [deferred] = await receiver.receiveDeferredMessages(msg!.sequenceNumber!);
        expect(deferred!.body).toBe('later');
        expect(deferred!.deliveryCount).toBe(1);
        expect(deferred!.applicationProperties).toEqual({ why: 'waiting' });
        await receiver.completeMessage(deferred!);
        expect(fx.emulator.counts('orders')).toMatchObject({ deferred: 0, locked: 0 });
        await expect(receiver.receiveDeferredMessages(msg!.sequenceNumber!)).rejects.toMatchObject({ code: 'MessageNotFound' });
    });

    it('dead-letters with reason, description and extra properties; the DLQ is readable and peekable', async () => {
        const client = fx.client();
        await client.createSender('orders')
            .sendMessages({ body: { bad: true }, messageId: 'poison-1', applicationProperties: { source: 'x' } });
        const receiver = client.createReceiver('orders');
        const [msg] = await receiveAtLeast(receiver, 1);
        await receiver.deadLetterMessage(msg!, {
            deadLetterReason: 'ValidationFailed',
            deadLetterErrorDescription: 'field x missing',
            step: 'validate',
        });

        expect(fx.emulator.deadLetters('orders')).toEqual([{
            messageId: 'poison-1',
            body: { bad: true },
            applicationProperties: {
                source: 'x', step: 'validate', DeadLetterReason: 'ValidationFailed', DeadLetterErrorDescription: 'field x missing',
            },
            deadLetterReason: 'ValidationFailed',
            deadLetterErrorDescription: 'field x missing',
        }]);
        const dlq = client.createReceiver('orders', { subQueueType: 'deadLetter' });
        const [peeked] = await dlq.peekMessages(5);
        expect(peeked!.messageId).toBe('poison-1');
        const [dead] = await receiveAtLeast(dlq, 1);
        expect(dead!.deadLetterReason).toBe('ValidationFailed');
        expect(dead!.deadLetterErrorDescription).toBe('field x missing');
        expect(dead!.applicationProperties!.step).toBe('validate');
        expect(dead!.body).toEqual({ bad: true });
        await dlq.completeMessage(dead!);
        expect(fx.emulator.counts('orders').deadLettered).toBe(0);
    });

    it('dead-letters through $management when the message came from receiveDeferredMessages', async () => {
        const client = fx.client();
        await client.createSender('orders').sendMessages({ body: 'd' });
        const receiver = client.createReceiver('orders');
        const [msg] = await receiveAtLeast(receiver, 1);
        await receiver.deferMessage(msg!);
        const [deferred] = await receiver.receiveDeferredMessages(msg!.sequenceNumber!);
        await receiver.deadLetterMessage(deferred!, { deadLetterReason: 'R', deadLetterErrorDescription: 'D' });
        expect(fx.emulator.deadLetters('orders')).toMatchObject([{ deadLetterReason: 'R', deadLetterErrorDescription: 'D', body: 'd' }]);
    });

    it('renews a lock, and reports MessageLockLost once the message is settled', async () => {
        const client = fx.client();
        await client.createSender('orders').sendMessages({ body: 'r' });
        const receiver = client.createReceiver('orders');
        const [msg] = await receiveAtLeast(receiver, 1);
        const before = msg!.lockedUntilUtc!.getTime();
        await new Promise((r) => setTimeout(r, 20));
        const renewed = await receiver.renewMessageLock(msg!);
        expect(renewed.getTime()).toBeGreaterThan(before);
        await receiver.completeMessage(msg!);
        await expect(receiver.renewMessageLock(msg!)).rejects.toMatchObject({ code: 'MessageLockLost' });
    });

    it('peeks messages in every state without locking them, and returns [] on an empty queue', async () => {
        const client = fx.client();
        const receiver = client.createReceiver('orders');
        expect(await receiver.peekMessages(10)).toEqual([]);
        await client.createSender('orders').sendMessages([{ body: 1 }, { body: 2 }, { body: 3 }]);
        const [locked] = await receiveAtLeast(receiver, 1);
        const peeked = await client.createReceiver('orders').peekMessages(10);
        expect(peeked.map((m) => m.body as unknown)).toEqual([1, 2, 3]);
        expect(peeked.every((m) => m.lockToken === undefined)).toBe(true);
        expect(fx.emulator.counts('orders')).toMatchObject({ active: 2, locked: 1 });
        await receiver.completeMessage(locked!);
    });

    it('schedules and cancels messages, and honours scheduledEnqueueTimeUtc on a plain send', async () => {
        const client = fx.client();
        const sender = client.createSender('orders');
        const soon = new Date(Date.now() + 1_500);
        const [kept] = await sender.scheduleMessages({ body: 'scheduled' }, soon);
        const [cancelled] = await sender.scheduleMessages({ body: 'cancelled' }, soon);
        await sender.cancelScheduledMessages(cancelled!);
        await sender.sendMessages({ body: 'plain-scheduled', scheduledEnqueueTimeUtc: soon });
        expect(fx.emulator.counts('orders')).toMatchObject({ active: 0, scheduled: 2 });
        const peeked = await client.createReceiver('orders').peekMessages(10);
        expect(peeked.map((m) => m.state)).toEqual(['scheduled', 'scheduled']);

        const receiver = client.createReceiver('orders', { receiveMode: 'receiveAndDelete' });
        expect((await receiver.receiveMessages(5, { maxWaitTimeInMs: 150 })).map((m) => m.body as unknown)).toEqual([]);
        const received = await receiveAtLeast(receiver, 2);
        expect(received.map((m) => m.body as unknown)).toEqual(['scheduled', 'plain-scheduled']);
        expect(received[0]!.sequenceNumber!.toNumber()).toBe(kept!.toNumber());
        expect(received[1]!.scheduledEnqueueTimeUtc!.getTime()).toBe(soon.getTime());
        expect(received.every((m) => m.enqueuedTimeUtc!.getTime() >= soon.getTime())).toBe(true);
    });

    it('answers every drain: repeated partial receiveMessages calls keep one receiver link', async () => {
        const client = fx.client();
        await client.createSender('orders').sendMessages(Array.from({ length: 6 }, (_, i) => ({ body: i })));
        const receiver = client.createReceiver('orders', { receiveMode: 'receiveAndDelete' });
        const link = () => (receiver as unknown as { _batchingReceiver?: { link?: unknown } })._batchingReceiver?.link;
        const bodies: unknown[] = [];
        let firstLink: unknown;
        for (let i = 0; i < 5; i++) {
            bodies.push(...(await receiver.receiveMessages(10, { maxWaitTimeInMs: 200 })).map((m) => m.body as unknown));
            firstLink ??= link();
            expect(link()).toBe(firstLink);
        }
        expect(firstLink).toBeDefined();
        expect(bodies).toEqual([0, 1, 2, 3, 4, 5]);
    });
});
