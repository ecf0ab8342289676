import { ServiceBusClient } from '@azure/service-bus';
import { afterAll, beforeAll, expect, it } from 'vitest';

import { createWriter } from '../../src/compose';
import { receiverSettlement } from '../../src/hosts/worker/settlement';
import { ingestBatch } from '../../src/pipeline';
import { withDelayedRetries } from '../../src/recoverability/delayed-retry';
import { aggregate, idOf, queue, startStack, type Stack } from './stack';

let stack: Stack;
beforeAll(async () => {
    stack = await startStack({ queue: { lockDurationMs: 1_000 }, env: { RETRY_MAX_ATTEMPTS: '50' } });
});
afterAll(async () => {
    await stack.close();
});

it('a crash between scheduling the retry copy and completing the original only duplicates, and the write absorbs it', async () => {
    await stack.send([JSON.stringify(aggregate(900))]);
    stack.graph.setFaults({ errorRate: 1, seed: 1 });

    const client = new ServiceBusClient(stack.serviceBus.connectionString);
    const receiver = client.createReceiver(queue, { skipParsingBodyAsJson: true, maxAutoLockRenewalDurationInMs: 0 });
    const sender = client.createSender(queue);
    try {
        const [m] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
        const broker = receiverSettlement(receiver);
        // The process "dies" right after the copy is scheduled: the original is never completed.
        const crashing = { ...broker, complete: () => Promise.reject(new Error('process killed')) };
        const summary = await ingestBatch(
            [{ handle: m!, message: { body: m!.body, messageId: String(m!.messageId), deliveryCount: m!.deliveryCount, applicationProperties: m!.applicationProperties } }],
            { writer: createWriter(stack.config.graph, stack.logger), settlement: withDelayedRetries(crashing, sender, stack.logger), logger: stack.logger, retryPolicy: stack.config.retry },
            { deadlineAt: Date.now() + 3_000 },
        );
        expect(summary.settlementFailures).toBe(1);
    } finally {
        await receiver.close();
        await sender.close();
        await client.close();
    }
    const afterCrash = stack.serviceBus.counts(queue);
    expect(afterCrash.locked).toBe(1);
    expect(afterCrash.active + afterCrash.scheduled).toBe(1);

    stack.graph.setFaults({});
    const totals = await stack.drain({ drainIdleMs: 2_000 });
    // Both the redelivered original and the copy were processed; Graph got one create.
    expect(totals.completed).toBe(2);
    expect(stack.graph.stats().byStatus['201']).toBe(1);
    expect(stack.graph.entities().has(idOf(900))).toBe(true);
    expect(stack.serviceBus.counts(queue)).toMatchObject({ active: 0, locked: 0, scheduled: 0, deadLettered: 0 });
});
