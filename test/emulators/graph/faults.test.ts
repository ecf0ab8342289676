import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { aggregate, collectionPath, startGraphFixture, type GraphErrorBody, type GraphFixture } from './graph-fixture';

describe('Graph stand-in: fault injection, control endpoint and stats', () => {
    let fx: GraphFixture;

    beforeAll(async () => {
        fx = await startGraphFixture({ faults: { latencyMs: 0 } });
    });
    afterAll(async () => {
        await fx.close();
    });
    beforeEach(() => {
        fx.graph.reset();
    });

    const create = (body: unknown = aggregate()) => fx.call(`/v1.0${collectionPath}`, { method: 'POST', json: body });
    const list = () => fx.call(`/beta${collectionPath}`);
    const control = (path: string, init?: RequestInit) => fetch(`${fx.graph.baseUrl}/_control/${path}`, init);

    it('rate-limits writes with 429, a fractional Retry-After and the documented body', async () => {
        fx.graph.setFaults({ writeRateLimitPerSecond: 4 });
        const statuses: number[] = [];
        for (let i = 0; i < 4; i++) statuses.push((await create()).status);
        expect(statuses).toEqual([201, 201, 201, 201]);

        const throttled = await create();
        expect(throttled.status).toBe(429);
        const retryAfter = throttled.headers.get('retry-after') ?? '';
        expect(retryAfter).toMatch(/^0\.\d{1,3}$/);
        expect(Number(retryAfter)).toBeLessThanOrEqual(0.25);
        expect(((await throttled.json()) as GraphErrorBody).error).toMatchObject({
            code: 'TooManyRequests',
            message: 'Please retry again later.',
            innerError: { code: '429', message: 'Please retry after', status: '429', 'request-id': throttled.headers.get('request-id') },
        });
        // Reads are not writes: they pass while writes are throttled.
        expect((await list()).status).toBe(200);
        expect(fx.graph.stats()).toMatchObject({ throttled: 1, entities: 4 });
    });

    it('answers a seeded, repeatable mix of 500/503/504 at errorRate 1; a 504 create may still have been committed', async () => {
        const run = async () => {
            fx.graph.reset();
            fx.graph.setFaults({ errorRate: 1, seed: 42 });
            const answers: { status: number; retryAfter: string | null; id: string }[] = [];
            for (let i = 0; i < 24; i++) {
                const body = aggregate();
                const res = await create(body);
                await res.arrayBuffer();
                answers.push({ status: res.status, retryAfter: res.headers.get('retry-after'), id: String(body.id) });
            }
            return answers;
        };
        const first = await run();
        expect(new Set(first.map((a) => a.status))).toEqual(new Set([500, 503, 504]));
        expect(first.some((a) => a.status === 503 && a.retryAfter !== null)).toBe(true);
        const committed = first.filter((a) => a.status === 504).map((a) => a.id);
        expect([...fx.graph.entities().keys()]).toEqual(committed);

        const second = await run();
        expect(second.map((a) => a.status)).toEqual(first.map((a) => a.status));
    });

    it('adds latency to every request', async () => {
        fx.graph.setFaults({ latencyMs: 120 });
        const started = performance.now();
        expect((await list()).status).toBe(200);
        // A lower bound on an injected delay, not a performance assertion.
        expect(performance.now() - started).toBeGreaterThanOrEqual(110);
    });

    it.each([
        ['rejectCreates', 405, 'Request_UnsupportedQuery', 200],
        ['forbidden', 403, 'Authorization_RequestDenied', 403],
        ['notImplemented', 501, 'NotImplemented', 501],
    ] as const)('mode %s: create answers %i', async (mode, status, code, listStatus) => {
        fx.graph.setFaults({ mode });
        const res = await create();
        expect(res.status).toBe(status);
        expect(((await res.json()) as GraphErrorBody).error.code).toBe(code);
        expect((await list()).status).toBe(listStatus);
        expect(fx.graph.entities().size).toBe(0);
    });

    it('drops connections without an answer', async () => {
        fx.graph.setFaults({ dropConnectionRate: 1 });
        await expect(create()).rejects.toThrow();
        fx.graph.setFaults({});
        expect((await create()).status).toBe(201);
        expect(fx.graph.stats().byStatus).toMatchObject({ dropped: 1, 201: 1 });
    });

    it('rejects invalid faults', () => {
        expect(() => fx.graph.setFaults({ errorRate: 2 })).toThrow(RangeError);
        expect(() => fx.graph.setFaults({ mode: 'chaos' as never })).toThrow(RangeError);
    });

    it('sets faults, reports stats and resets through the loopback control endpoint', async () => {
        const headers = { 'content-type': 'application/json' };
        const set = await control('faults', { method: 'POST', headers, body: JSON.stringify({ mode: 'forbidden' }) });
        expect(set.status).toBe(200);
        expect(await set.json()).toEqual({ mode: 'forbidden' });
        expect((await create()).status).toBe(403);
        expect(await (await control('faults')).json()).toEqual({ mode: 'forbidden' });

        const invalid = await control('faults', { method: 'POST', body: JSON.stringify({ latencyMs: -1 }) });
        expect(invalid.status).toBe(400);
        expect((await control('faults', { method: 'POST', body: '{' })).status).toBe(400);

        await control('faults', { method: 'POST', body: JSON.stringify({}) });
        await create();
        await fx.call(`/v1.0${collectionPath}/none_none`, { method: 'PATCH', json: { numberOfErrorDevices: 1 } });
        const stats = (await (await control('stats')).json()) as Record<string, unknown>;
        expect(stats).toEqual({
            requests: 3,
            byStatus: { 201: 1, 403: 1, 404: 1 },
            byKind: { create: 2, patch: 1 },
            byMethod: { POST: 2, PATCH: 1 },
            throttled: 0,
            entities: 1,
            writes: 1,
        });

        fx.graph.setFaults({ mode: 'notImplemented' });
        expect((await control('reset', { method: 'POST' })).status).toBe(204);
        expect(fx.graph.stats()).toMatchObject({ requests: 0, entities: 0 });
        // Reset restores the start-up faults.
        expect(await (await control('faults')).json()).toEqual({ latencyMs: 0 });
        expect((await control('nothing')).status).toBe(404);
    });
});
