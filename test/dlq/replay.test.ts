import { ServiceBusClient } from '@azure/service-bus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { purgeDeadLetters, replayDeadLetters } from '../../src/dlq';
import { startServiceBusEmulator, type ServiceBusEmulator } from '../../src/emulators/servicebus';
import { drain, expectedMessageId } from '../publish/fixtures';
import { seedDeadLetters } from './fixtures';

let emulator: ServiceBusEmulator;
let client: ServiceBusClient;

beforeAll(async () => {
    emulator = await startServiceBusEmulator({ queues: [{ name: 'crash', properties: { lockDurationMs: 1_000 } }, { name: 'purge' }] });
    client = new ServiceBusClient(emulator.connectionString);
});

afterAll(async () => {
    await client.close();
    await emulator.close();
});

describe('replayDeadLetters', () => {
    it('a crash between the re-send and the complete duplicates the message, never loses it; replaying again is safe', async () => {
        await seedDeadLetters(emulator.connectionString, 'crash', [{ i: 1, reason: 'GraphRejected' }, { i: 2, reason: 'GraphRejected' }]);
        const crash = replayDeadLetters(client, 'crash', {
            maxWaitTimeInMs: 300,
            beforeComplete: (message) => {
                if (message.messageId === expectedMessageId(2)) throw new Error('simulated crash');
            },
        });
        await expect(crash).rejects.toThrow('simulated crash');

        // Message 2 is now both in the queue and (once its lock expires) still in the DLQ.
        expect(emulator.counts('crash').active).toBe(2);
        expect(emulator.deadLetters('crash').map((m) => m.messageId)).toEqual([expectedMessageId(2)]);

        await new Promise((resolve) => setTimeout(resolve, 1_200));
        expect(await replayDeadLetters(client, 'crash', { maxWaitTimeInMs: 300 })).toEqual({ replayed: 1, completeFailures: 0 });
        expect(emulator.counts('crash').deadLettered).toBe(0);
        const ids = (await drain(emulator.connectionString, 'crash')).map((m) => m.messageId);
        // Each replay of the same dead letter has the same id, so a queue with duplicate detection keeps one.
        expect(ids.sort()).toEqual([`${expectedMessageId(1)}#replay1`, `${expectedMessageId(2)}#replay1`, `${expectedMessageId(2)}#replay1`]);
    });
});

describe('purgeDeadLetters', () => {
    it('stops at --max, with and without filters', async () => {
        await seedDeadLetters(emulator.connectionString, 'purge', [1, 2, 3, 4].map((i) => ({ i, reason: i % 2 ? 'SchemaViolation' : 'GraphRejected' })));
        expect(await purgeDeadLetters(client, 'purge', { max: 1, filter: { reason: 'GraphRejected' }, maxWaitTimeInMs: 300 })).toBe(1);
        expect(await purgeDeadLetters(client, 'purge', { max: 2, maxWaitTimeInMs: 300 })).toBe(2);
        expect(emulator.counts('purge').deadLettered).toBe(1);
    });
});
