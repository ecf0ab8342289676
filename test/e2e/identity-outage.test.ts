import { afterAll, beforeAll, expect, it } from 'vitest';

import { aggregate, queue, startStack, type Stack } from './stack';

// Its own file: msal-node caches the token process-wide, and this test needs the first one to fail.
let stack: Stack;
beforeAll(async () => {
    stack = await startStack({ env: { GRAPH_TIMEOUT_MS: '1000' } });
});
afterAll(async () => {
    await stack.close();
});

it('retries through an identity endpoint outage and writes everything once it recovers', async () => {
    stack.identity.setFault('error500');
    await stack.send(Array.from({ length: 10 }, (_, i) => JSON.stringify(aggregate(500 + i))));
    const recover = setTimeout(() => stack.identity.setFault('none'), 5_000);
    const totals = await stack.drain({ drainIdleMs: 4_000 });
    clearTimeout(recover);

    expect(stack.graph.entities().size).toBe(10);
    expect(totals.deadLettered).toEqual({});
    expect(totals.retried).toBeGreaterThan(0);
    expect(stack.serviceBus.counts(queue)).toMatchObject({ active: 0, locked: 0, scheduled: 0, deadLettered: 0 });
    expect(stack.identity.requests.filter((r) => r.status === 500).length).toBeGreaterThan(0);
    // Operators see the identity as the cause, once per state change, not a Graph timeout per message.
    const opened = stack.logger.records.filter((r) => r.event === 'circuit.opened');
    expect(opened.length).toBeGreaterThan(0);
    expect(opened.every((r) => r.fields.cause === 'TokenUnavailable')).toBe(true);
});
