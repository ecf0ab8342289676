import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { aggregate, queue, startStack, type Stack } from './stack';

let stack: Stack;
beforeAll(async () => {
    stack = await startStack({ env: { RETRY_MAX_ATTEMPTS: '200', RETRY_MAX_TOTAL_MINUTES: '60' } });
});
afterAll(async () => {
    await stack.close();
});
beforeEach(() => {
    stack.serviceBus.reset();
    stack.graph.reset();
    stack.logger.records.length = 0;
});

const bodies = (from: number, n: number) => Array.from({ length: n }, (_, i) => JSON.stringify(aggregate(from + i)));

/** Figures for the closing note and the README: sent, written, dead-lettered, Graph requests, drain time after recovery. */
function report(name: string, sent: number, recoveredAt: number) {
    const s = stack.graph.stats();
    console.log(
        `[storm] ${name}: sent ${sent}, written ${s.entities}, dead-lettered ${stack.serviceBus.counts(queue).deadLettered}, ` +
            `Graph requests ${s.requests} (${JSON.stringify(s.byStatus)}), drained ${((Date.now() - recoveredAt) / 1000).toFixed(1)} s after recovery`,
    );
}

describe('recoverability end to end', () => {
    it.each([
        ['429 storm', { writeRateLimitPerSecond: 5 }],
        ['503 storm', { errorRate: 0.9, seed: 3 }],
    ])('%s: everything is written once the storm ends, nothing dead-lettered', async (name, faults) => {
        const n = 50;
        await stack.send(bodies(1_000, n));
        stack.graph.setFaults(faults);
        let recoveredAt = Date.now();
        const calm = setTimeout(() => {
            stack.graph.setFaults({});
            recoveredAt = Date.now();
        }, 1_500);
        const totals = await stack.drain({ drainIdleMs: 2_500 });
        clearTimeout(calm);
        report(name, n, recoveredAt);

        expect(stack.graph.entities().size).toBe(n);
        expect(totals.deadLettered).toEqual({});
        expect(stack.serviceBus.counts(queue)).toMatchObject({ active: 0, locked: 0, scheduled: 0, deadLettered: 0 });
    });

    it.each([
        ['forbidden', 'GraphForbidden', 403],
        ['rejectCreates', 'GraphMethodNotAllowed', 405],
    ] as const)('%s mode: the circuit opens, the cause is logged once, messages cycle with growing delays, then drain', async (mode, errorCode, status) => {
        const n = 20;
        await stack.send(bodies(2_000, n));
        stack.graph.setFaults({ mode });
        let recoveredAt = Date.now();
        const heal = setTimeout(() => {
            stack.graph.setFaults({});
            recoveredAt = Date.now();
        }, 2_500);
        const totals = await stack.drain({ drainIdleMs: 3_000 });
        clearTimeout(heal);
        report(`${mode} (${status})`, n, recoveredAt);

        expect(stack.graph.entities().size).toBe(n);
        expect(totals.deadLettered).toEqual({});
        expect(totals.retried).toBeGreaterThan(0);
        const opened = stack.logger.records.filter((r) => r.event === 'circuit.opened');
        expect(opened.length).toBeGreaterThan(0);
        expect(opened.every((r) => r.fields.cause === errorCode)).toBe(true);
        // One line for the systemic cause per window, not one per message.
        expect(stack.logger.records.filter((r) => r.event === 'graph.systemicFailure' && r.fields.errorCode === errorCode)).toHaveLength(1);
        // Far fewer Graph calls than message deliveries: the open circuit kept messages away from Graph.
        expect(stack.graph.stats().byStatus[String(status)] ?? 0).toBeLessThan(totals.retried);
    });
});
