import { afterAll, beforeAll, expect, it } from 'vitest';

import { startStack, type Stack } from '../e2e/stack';
import { graphFaultScenario } from '../hardening/scenarios';
import { faultSuiteEnv } from '../hardening/traffic';

let stack: Stack;
beforeAll(async () => {
    stack = await startStack({ env: faultSuiteEnv });
});
afterAll(async () => {
    await stack.close();
});

it('loses and doubles nothing over 10,000 messages through 30% 5xx plus 429s', async () => {
    const figures = await graphFaultScenario(stack, 'graph 5xx+429 (long)', {
        messages: 10_000,
        firstKey: 1_000_000,
        faults: { errorRate: 0.3, writeRateLimitPerSecond: 50, seed: 21 },
        timeoutMs: 30 * 60_000,
    });
    expect(figures.worker.retried).toBeGreaterThan(0);
});
