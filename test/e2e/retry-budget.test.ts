import { expect, it } from 'vitest';

import { retryProperty } from '../../src/recoverability/retry-policy';
import { aggregate, queue, startStack } from './stack';

// Its own file: a second stack in one process would get tokens from the first identity stand-in (msal-node statics).
it('a spent budget dead-letters RetriesExhausted with the full attempt history', async () => {
    const small = await startStack({ env: { RETRY_MAX_ATTEMPTS: '3', RETRY_BASE_DELAY_MS: '20', RETRY_MAX_DELAY_MS: '40', CIRCUIT_COOLDOWN_MS: '10' } });
    try {
        await small.send([JSON.stringify(aggregate(3_000)), JSON.stringify(aggregate(3_001))]);
        small.graph.setFaults({ mode: 'forbidden' });
        const totals = await small.drain({ drainIdleMs: 1_500 });
        expect(totals.deadLettered).toEqual({ RetriesExhausted: 2 });
        const dead = small.serviceBus.deadLetters(queue);
        expect(dead).toHaveLength(2);
        for (const d of dead) {
            expect(d.deadLetterReason).toBe('RetriesExhausted');
            expect(d.deadLetterErrorDescription).toMatch(/^Retries exhausted after 3 attempts\. Last error GraphForbidden: /);
            expect(String(d.applicationProperties[retryProperty.history]).split(';')).toHaveLength(3);
            expect(d.applicationProperties).toMatchObject({ errorCode: 'GraphForbidden', attempt: 3, graphStatus: 403, function: 'worker' });
            expect(typeof d.applicationProperties.firstFailureAt).toBe('string');
            expect(typeof d.applicationProperties.host).toBe('string');
        }
        expect(small.graph.entities().size).toBe(0);
    } finally {
        await small.close();
    }
});
