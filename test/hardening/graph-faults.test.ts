import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startStack, type Stack } from '../e2e/stack';
import { graphFaultScenario } from './scenarios';
import { faultSuiteEnv } from './traffic';

let stack: Stack;
beforeAll(async () => {
    stack = await startStack({ env: faultSuiteEnv });
});
afterAll(async () => {
    await stack.close();
});

describe('Graph faults end to end (fast variants; test/long runs the 10,000-message storm)', () => {
    it('loses and doubles nothing through 30% 5xx plus 429s', async () => {
        const figures = await graphFaultScenario(stack, 'graph 5xx+429 (fast)', {
            messages: 300,
            firstKey: 100_000,
            faults: { errorRate: 0.3, writeRateLimitPerSecond: 60, seed: 11 },
            timeoutMs: 45_000,
        });
        expect(figures.worker.retried).toBeGreaterThan(0);
        expect(figures.graph.throttled).toBeGreaterThan(0);
    }, 60_000);

    it('loses and doubles nothing through connection resets', async () => {
        const figures = await graphFaultScenario(stack, 'graph connection resets (fast)', {
            messages: 300,
            firstKey: 110_000,
            faults: { dropConnectionRate: 0.2, seed: 12 },
            timeoutMs: 45_000,
        });
        expect(figures.graph.dropped).toBeGreaterThan(0);
    }, 60_000);

    it('loses and doubles nothing when responses are slower than GRAPH_TIMEOUT_MS for a while', async () => {
        // 800 ms of latency against a 500 ms timeout: writes time out, yet many land, and their retries meet 409s.
        const figures = await graphFaultScenario(stack, 'graph slow past timeout (fast)', {
            messages: 200,
            firstKey: 120_000,
            faults: { latencyMs: 800 },
            faultMs: 3_000,
            timeoutMs: 45_000,
        });
        expect(figures.graph['409']).toBeGreaterThan(0);
    }, 60_000);
});
