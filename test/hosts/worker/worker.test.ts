import type { ServiceBusClient } from '@azure/service-bus';
import { describe, expect, it } from 'vitest';

import type { EntityWriter } from '../../../src/graph/writer';
import { runWorker } from '../../../src/hosts/worker/worker';
import { memoryLogger } from '../../../src/log';

/** A client whose receiver records when it was asked for messages and never has any. */
function idleClient() {
    const receives: number[] = [];
    const client = {
        createReceiver: () => ({
            isClosed: false,
            receiveMessages: () => {
                receives.push(Date.now());
                return new Promise((resolve) => setTimeout(() => resolve([]), 20));
            },
            close: () => Promise.resolve(),
        }),
    } as unknown as ServiceBusClient;
    return { client, receives };
}

const options = { queueName: 'q', batchSize: 10, loops: 1, receiveWaitMs: 20, batchBudgetMs: 1_000, drainIdleMs: 600 };

describe('runWorker', () => {
    it('does not receive while Graph has asked, with Retry-After, that nothing be sent', async () => {
        const { client, receives } = idleClient();
        const started = Date.now();
        const writer: EntityWriter = { write: () => Promise.resolve(new Map()), pausedUntil: started + 400 };
        await runWorker(options, { client, writer, logger: memoryLogger() }, new AbortController().signal);
        expect(receives.length).toBeGreaterThan(0);
        expect(receives[0]! - started).toBeGreaterThanOrEqual(390);
    });

    it('receives at once when nothing pauses it, and stops once idle in drain mode', async () => {
        const { client, receives } = idleClient();
        const started = Date.now();
        const totals = await runWorker(options, { client, writer: { write: () => Promise.resolve(new Map()) }, logger: memoryLogger() }, new AbortController().signal);
        expect(receives[0]! - started).toBeLessThan(200);
        expect(totals).toMatchObject({ received: 0, batches: 0 });
    });
});
