import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { aggregate, idOf, queue, startStack, type Stack } from './stack';

let stack: Stack;

beforeAll(async () => {
    stack = await startStack();
});
afterAll(async () => {
    await stack.close();
});
beforeEach(() => {
    stack.serviceBus.reset();
    stack.graph.reset();
    stack.graph.setFaults({});
    stack.identity.setFault('none');
});

const sampleLines = readFileSync(join(__dirname, '../../samples/aggregates.ndjson'), 'utf8').split('\n').filter(Boolean);

describe('worker end to end', () => {
    it('writes every valid sample once and dead-letters every invalid one with its reason', async () => {
        await stack.send(sampleLines);
        const totals = await stack.drain();
        expect(stack.graph.entities().size).toBe(24);
        const dead = stack.serviceBus.deadLetters(queue);
        expect(dead.map((d) => d.deadLetterReason)).toEqual(Array(5).fill('SchemaViolation'));
        const descriptions = dead.map((d) => d.deadLetterErrorDescription ?? '').join('\n');
        for (const field of ['tenantId', 'numberOfCompliantDevices', 'lastRefreshedDateTime', 'numberOfErrorDevices', 'deviceCount', 'id']) {
            expect(descriptions).toContain(field);
        }
        expect(dead.every((d) => d.applicationProperties.errorCode === 'SchemaViolation' && d.applicationProperties.attempt === 1)).toBe(true);
        expect(stack.serviceBus.counts(queue)).toMatchObject({ active: 0, locked: 0, scheduled: 0 });
        expect(totals).toMatchObject({ received: sampleLines.length, completed: sampleLines.length - 5, deadLettered: { SchemaViolation: 5 }, retried: 0 });

        // Mapped fields: GUIDs lower-cased, digit-string counts as numbers, offsets converted to UTC.
        const contoso = JSON.parse(sampleLines[1]!) as Record<string, string>;
        const stored = stack.graph.entities().get(`${contoso.tenantId!.toLowerCase()}_${contoso.compliancePolicyId}`);
        expect(stored).toMatchObject({
            tenantDisplayName: 'Contoso',
            numberOfCompliantDevices: Number(contoso.numberOfCompliantDevices),
            lastRefreshedDateTime: '2026-12-01T01:11:33.4452876Z',
        });
    });

    it('keeps the newest refresh per entity across duplicates and out-of-order deliveries', async () => {
        const bodies = [
            aggregate(1, '2026-12-01T10:00:00Z', { numberOfCompliantDevices: 10 }),
            aggregate(1, '2026-12-01T12:00:00Z', { numberOfCompliantDevices: 12 }),
            aggregate(1, '2026-12-01T11:00:00Z', { numberOfCompliantDevices: 11 }),
            aggregate(2, '2026-12-01T09:00:00Z', { numberOfCompliantDevices: 29 }),
            aggregate(2, '2026-12-01T09:00:00Z', { numberOfCompliantDevices: 29 }),
        ].map((b) => JSON.stringify(b));
        // Spread over separate batches too, so both in-batch collapsing and the 409 path are exercised.
        await stack.send(bodies.slice(0, 2));
        await stack.drain({ batchSize: 1, loops: 1 });
        await stack.send(bodies.slice(2));
        await stack.drain({ batchSize: 5, loops: 1 });

        expect(stack.graph.entities().get(idOf(1))).toMatchObject({ numberOfCompliantDevices: 12, lastRefreshedDateTime: '2026-12-01T12:00:00Z' });
        expect(stack.graph.entities().get(idOf(2))).toMatchObject({ numberOfCompliantDevices: 29 });
        expect(stack.serviceBus.counts(queue)).toMatchObject({ active: 0, locked: 0, deadLettered: 0 });
        const byStatus = stack.graph.stats().byStatus;
        expect(byStatus['201']).toBe(2);
    });

    it('loses and dead-letters nothing through 429s, 5xx and dropped connections', async () => {
        const n = 40;
        await stack.send(Array.from({ length: n }, (_, i) => JSON.stringify(aggregate(100 + i))));
        stack.graph.setFaults({ errorRate: 0.3, dropConnectionRate: 0.1, writeRateLimitPerSecond: 50, seed: 7 });
        const recover = setTimeout(() => stack.graph.setFaults({}), 1_500);
        const totals = await stack.drain({ drainIdleMs: 3_000 });
        clearTimeout(recover);

        expect(stack.serviceBus.counts(queue)).toMatchObject({ active: 0, locked: 0, scheduled: 0, deadLettered: 0 });
        expect(stack.graph.entities().size).toBe(n);
        expect(totals.deadLettered).toEqual({});
        expect(totals.completed).toBe(n);
        expect(totals.retried).toBeGreaterThan(0);
    });

    it('writes nothing twice when the same message is processed again after a lost lock', async () => {
        await stack.send([JSON.stringify(aggregate(300))]);
        await stack.drain();
        await stack.send([JSON.stringify(aggregate(300))]);
        await stack.drain();
        expect(stack.graph.stats().byStatus['201']).toBe(1);
        expect(stack.graph.stats().byKind.patch ?? 0).toBe(0);
        expect(stack.graph.entities().size).toBe(1);
    });

    it('leaves no message locked after a graceful shutdown', async () => {
        await stack.send(Array.from({ length: 60 }, (_, i) => JSON.stringify(aggregate(400 + i))));
        stack.graph.setFaults({ latencyMs: 50 });
        const stop = new AbortController();
        const run = stack.drain({ signal: stop.signal, drainIdleMs: 10_000, batchSize: 10 });
        setTimeout(() => stop.abort(), 300);
        const totals = await run;
        const counts = stack.serviceBus.counts(queue);
        expect(counts.locked).toBe(0);
        expect(counts.active + totals.completed).toBe(60);
        expect(totals.completed).toBeGreaterThan(0);
    });
});
