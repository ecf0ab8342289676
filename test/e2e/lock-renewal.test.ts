import { afterAll, beforeAll, expect, it } from 'vitest';

import { aggregate, queue, startStack, type Stack } from './stack';

// Its own stack: a 1 s lock, so a write slower than the lock proves the worker renews it.
let stack: Stack;
beforeAll(async () => {
    stack = await startStack({ queue: { lockDurationMs: 1_000 }, env: { GRAPH_TIMEOUT_MS: '5000' } });
});
afterAll(async () => {
    await stack.close();
});

it('renews locks while a batch is being written, so a slow Graph causes no redelivery', async () => {
    await stack.send([JSON.stringify(aggregate(1_200)), JSON.stringify(aggregate(1_201))]);
    stack.graph.setFaults({ latencyMs: 2_500 });
    const totals = await stack.drain({ batchSize: 2, loops: 1, drainIdleMs: 1_000 });
    expect(totals).toMatchObject({ received: 2, completed: 2, settlementFailures: 0, retried: 0 });
    expect(stack.graph.entities().size).toBe(2);
    expect(stack.serviceBus.counts(queue)).toMatchObject({ active: 0, locked: 0, deadLettered: 0 });
});
