import { afterEach, describe, expect, it } from 'vitest';

import { defaultEmulatorConfig, parseEmulatorConfig } from '../../../src/emulators/servicebus';
import { receiveAtLeast, startFixture, type EmulatorFixture } from './emulator-fixture';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Service Bus emulator: locks, expiry, duplicates and connection loss', () => {
    let fx: EmulatorFixture | undefined;

    afterEach(async () => {
        await fx?.close();
        fx = undefined;
    });

    it('redelivers after lock expiry with deliveryCount + 1; the first holder gets MessageLockLost', async () => {
        fx = await startFixture({ queues: [{ name: 'q', properties: { lockDurationMs: 600 } }] });
        const client = fx.client();
        await client.createSender('q').sendMessages({ body: 'slow' });
        const first = client.createReceiver('q', { maxAutoLockRenewalDurationInMs: 0 });
        const [msg] = await receiveAtLeast(first, 1);
        expect(msg!.lockedUntilUtc!.getTime() - Date.now()).toBeLessThanOrEqual(600);

        const second = client.createReceiver('q', { maxAutoLockRenewalDurationInMs: 0 });
        const [again] = await receiveAtLeast(second, 1, 3_000);
        expect(again!.messageId).toBe(msg!.messageId);
        expect(again!.deliveryCount).toBe(1);
        await expect(first.completeMessage(msg!)).rejects.toMatchObject({ code: 'MessageLockLost' });
        await second.completeMessage(again!);
        expect(fx.emulator.counts('q')).toMatchObject({ active: 0, locked: 0 });
    });

    it('dead-letters with MaxDeliveryCountExceeded once MaxDeliveryCount deliveries were abandoned', async () => {
        fx = await startFixture({ queues: [{ name: 'q', properties: { maxDeliveryCount: 3 } }] });
        const client = fx.client();
        await client.createSender('q').sendMessages({ body: 'poison', messageId: 'p1', applicationProperties: { k: 'v' } });
        const receiver = client.createReceiver('q');
        const counts: number[] = [];
        for (let i = 0; i < 3; i++) {
            const [msg] = await receiveAtLeast(receiver, 1);
            counts.push(msg!.deliveryCount!);
            await receiver.abandonMessage(msg!);
        }
        expect(counts).toEqual([0, 1, 2]);
        expect(fx.emulator.counts('q')).toMatchObject({ active: 0, deadLettered: 1 });
        expect(fx.emulator.deadLetters('q')).toEqual([{
            messageId: 'p1',
            body: 'poison',
            applicationProperties: {
                k: 'v',
                DeadLetterReason: 'MaxDeliveryCountExceeded',
                DeadLetterErrorDescription: 'Message could not be consumed after 3 delivery attempts.',
            },
            deadLetterReason: 'MaxDeliveryCountExceeded',
            deadLetterErrorDescription: 'Message could not be consumed after 3 delivery attempts.',
        }]);
    });

    it('moves expired messages to the DLQ when DeadLetteringOnMessageExpiration is set, else drops them', async () => {
        fx = await startFixture({
            queues: [
                { name: 'keep', properties: { deadLetteringOnMessageExpiration: true, defaultMessageTimeToLiveMs: 200 } },
                { name: 'drop', properties: { defaultMessageTimeToLiveMs: 200 } },
            ],
        });
        const client = fx.client();
        await client.createSender('keep').sendMessages([{ body: 'old', messageId: 'e1' }, { body: 'own-ttl', timeToLive: 100 }]);
        await client.createSender('drop').sendMessages({ body: 'gone' });
        await sleep(400);

        expect(fx.emulator.counts('keep')).toMatchObject({ active: 0, deadLettered: 2 });
        expect(fx.emulator.counts('drop')).toMatchObject({ active: 0, deadLettered: 0 });
        const dlq = client.createReceiver('keep', { subQueueType: 'deadLetter', receiveMode: 'receiveAndDelete' });
        const dead = await receiveAtLeast(dlq, 2);
        expect(dead.map((m) => [m.body as unknown, m.deadLetterReason, m.deadLetterErrorDescription])).toEqual([
            ['old', 'TTLExpiredException', 'The message expired and was dead lettered.'],
            ['own-ttl', 'TTLExpiredException', 'The message expired and was dead lettered.'],
        ]);
        expect(dead[0]!.messageId).toBe('e1');
    });

    it('drops a duplicate MessageId within the detection window but accepts the transfer', async () => {
        const properties = { requiresDuplicateDetection: true, duplicateDetectionHistoryTimeWindowMs: 300 };
        fx = await startFixture({ queues: [{ name: 'q', properties }] });
        const sender = fx.client().createSender('q');
        await sender.sendMessages({ body: 1, messageId: 'same' });
        await sender.sendMessages([{ body: 2, messageId: 'same' }, { body: 3, messageId: 'other' }]);
        expect(fx.emulator.counts('q').active).toBe(2);
        await sleep(450);
        await sender.sendMessages({ body: 4, messageId: 'same' });
        expect(fx.emulator.counts('q').active).toBe(3);
    });

    it('keeps locks of transferred messages when a receiver closes; they return only at lock expiry', async () => {
        fx = await startFixture({ queues: [{ name: 'q', properties: { lockDurationMs: 500 } }] });
        const client = fx.client();
        await client.createSender('q').sendMessages([{ body: 1 }, { body: 2 }]);
        const receiver = client.createReceiver('q', { maxAutoLockRenewalDurationInMs: 0 });
        expect(await receiveAtLeast(receiver, 2)).toHaveLength(2);
        await receiver.close();
        expect(fx.emulator.counts('q')).toMatchObject({ active: 0, locked: 2 });
        await sleep(700);
        expect(fx.emulator.counts('q')).toMatchObject({ active: 2, locked: 0 });
    });

    it('lets the client recover after dropConnections and keep sending and receiving', async () => {
        fx = await startFixture({ queues: [{ name: 'q' }] });
        const client = fx.client();
        const sender = client.createSender('q');
        const receiver = client.createReceiver('q', { receiveMode: 'receiveAndDelete' });
        await sender.sendMessages({ body: 'before' });
        expect((await receiveAtLeast(receiver, 1)).map((m) => m.body as unknown)).toEqual(['before']);

        fx.emulator.dropConnections();
        await sleep(100);
        await sender.sendMessages({ body: 'after' });
        expect((await receiveAtLeast(receiver, 1, 5_000)).map((m) => m.body as unknown)).toEqual(['after']);
    });

    it('purges every queue on reset but keeps the declarations', async () => {
        fx = await startFixture({ queues: [{ name: 'q' }] });
        await fx.client().createSender('q').sendMessages([{ body: 1 }, { body: 2 }]);
        fx.emulator.reset();
        expect(fx.emulator.counts('q')).toEqual({ active: 0, locked: 0, scheduled: 0, deferred: 0, deadLettered: 0 });
        expect(fx.emulator.queueNames()).toEqual(['q']);
        expect(() => fx!.emulator.counts('missing')).toThrow(/could not be found/);
    });

    it('declares queues from a parsed Config.json and advertises a configured max message size', async () => {
        fx = await startFixture({ config: parseEmulatorConfig(defaultEmulatorConfig), maxMessageSizeBytes: 4_096 });
        expect(fx.emulator.queueNames()).toEqual(['compliance-aggregates']);
        expect(fx.emulator.connectionString).toBe(
            `Endpoint=sb://localhost:${fx.emulator.port};SharedAccessKeyName=RootManageSharedAccessKey;` +
            'SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;',
        );
        const sender = fx.client().createSender('compliance-aggregates');
        expect((await sender.createMessageBatch()).maxSizeInBytes).toBe(4_096);
        await expect(sender.sendMessages({ body: Buffer.alloc(5_000) })).rejects.toMatchObject({ code: 'MessageSizeExceeded' });
        await sender.sendMessages([{ body: 'x', messageId: 'dup' }, { body: 'x', messageId: 'dup' }]);
        expect(fx.emulator.counts('compliance-aggregates').active).toBe(1);
    });
});
