import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { aggregate, collectionPath, startGraphFixture, type GraphErrorBody, type GraphFixture } from './graph-fixture';

interface BatchItemResponse {
    id: string;
    status: number;
    headers: Record<string, string>;
    body?: unknown;
}

describe('Graph stand-in: $batch', () => {
    let fx: GraphFixture;

    beforeAll(async () => {
        fx = await startGraphFixture();
    });
    afterAll(async () => {
        await fx.close();
    });
    beforeEach(() => {
        fx.graph.reset();
    });

    const batch = (requests: unknown[], version = 'v1.0') => fx.call(`/${version}/$batch`, { method: 'POST', json: { requests } });
    const createItem = (id: string, body: unknown, extra: Record<string, unknown> = {}) => ({
        id,
        method: 'POST',
        url: collectionPath,
        headers: { 'Content-Type': 'application/json' },
        body,
        ...extra,
    });
    const byId = (responses: BatchItemResponse[]) => new Map(responses.map((r) => [r.id, r]));

    it('answers each item with its own status, in a different order than sent', async () => {
        const first = aggregate();
        const res = await batch([
            createItem('1', first),
            createItem('2', first),
            createItem('3', aggregate({ bogus: true })),
            { id: '4', method: 'GET', url: `${collectionPath}/${String(first.id)}` },
            { id: '5', method: 'GET', url: `${collectionPath}/missing_missing` },
        ]);
        expect(res.status).toBe(200);
        const { responses } = (await res.json()) as { responses: BatchItemResponse[] };
        expect(responses.map((r) => r.id)).not.toEqual(['1', '2', '3', '4', '5']);
        const items = byId(responses);
        expect(items.get('1')).toMatchObject({ status: 201, headers: { Location: expect.stringContaining(String(first.id)) } });
        expect(items.get('2')).toMatchObject({ status: 409, body: { error: { code: 'Conflict' } } });
        expect(items.get('3')).toMatchObject({ status: 400, body: { error: { code: 'BadRequest' } } });
        expect(items.get('4')).toMatchObject({ status: 200, body: { id: first.id } });
        expect(items.get('5')).toMatchObject({ status: 404 });
        expect(fx.graph.stats()).toMatchObject({ requests: 1, byKind: { batch: 1, create: 3, get: 2 }, writes: 1 });
    });

    it('works on /beta and treats versioned item urls and nested batches as unknown segments', async () => {
        const nested = { id: 'b', method: 'POST', url: '/$batch', headers: { 'Content-Type': 'application/json' }, body: { requests: [] } };
        const res = await batch([createItem('a', aggregate(), { url: `/beta${collectionPath}` }), nested], 'beta');
        const items = byId(((await res.json()) as { responses: BatchItemResponse[] }).responses);
        expect(items.get('a')).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining("'beta'") } } });
        expect(items.get('b')).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining("'$batch'") } } });
    });

    it('rejects more than 20 requests, duplicate ids and bodies without Content-Type with 400', async () => {
        const tooMany = await batch(Array.from({ length: 21 }, (_, i) => ({ id: String(i), method: 'GET', url: collectionPath })));
        expect(tooMany.status).toBe(400);
        expect(((await tooMany.json()) as GraphErrorBody).error.code).toBe('BadRequest');

        const duplicate = await batch([
            { id: 'x', method: 'GET', url: collectionPath },
            { id: 'X', method: 'GET', url: collectionPath },
        ]);
        expect(duplicate.status).toBe(400);

        const noContentType = await batch([{ id: '1', method: 'POST', url: collectionPath, body: aggregate() }]);
        expect(noContentType.status).toBe(400);
        expect((await batch([])).status).toBe(400);
        expect((await batch([{ id: '1', method: 'GET', url: collectionPath, dependsOn: ['nope'] }])).status).toBe(400);
        expect(fx.graph.entities().size).toBe(0);
    });

    it('answers 424 to a request whose dependency failed, and runs it when the dependency succeeded', async () => {
        const good = aggregate();
        const res = await batch([
            createItem('1', aggregate({ id: 'bad' })),
            createItem('2', aggregate(), { dependsOn: ['1'] }),
            createItem('3', good),
            {
                id: '4',
                method: 'PATCH',
                url: `${collectionPath}/${String(good.id)}`,
                headers: { 'Content-Type': 'application/json' },
                body: { numberOfErrorDevices: 9 },
                dependsOn: ['3'],
            },
        ]);
        const items = byId(((await res.json()) as { responses: BatchItemResponse[] }).responses);
        expect(items.get('1')?.status).toBe(400);
        expect(items.get('2')).toMatchObject({ status: 424 });
        expect(items.get('3')?.status).toBe(201);
        expect(items.get('4')?.status).toBe(204);
        expect(fx.graph.entities().get(String(good.id))?.numberOfErrorDevices).toBe(9);
        expect(fx.graph.entities().size).toBe(1);
    });

    it('throttles items individually, with Retry-After in the item headers', async () => {
        fx.graph.setFaults({ writeRateLimitPerSecond: 2 });
        const res = await batch(Array.from({ length: 5 }, (_, i) => createItem(String(i), aggregate())));
        expect(res.status).toBe(200);
        const { responses } = (await res.json()) as { responses: BatchItemResponse[] };
        const throttled = responses.filter((r) => r.status === 429);
        expect(responses.filter((r) => r.status === 201)).toHaveLength(2);
        expect(throttled).toHaveLength(3);
        for (const item of throttled) {
            expect(Number(item.headers['Retry-After'])).toBeGreaterThan(0);
            expect(item.body).toMatchObject({ error: { code: 'TooManyRequests', innerError: { code: '429', status: '429' } } });
        }
        expect(fx.graph.stats().throttled).toBe(3);
    });

    it('applies fault modes to items', async () => {
        fx.graph.setFaults({ mode: 'rejectCreates' });
        const res = await batch([createItem('1', aggregate()), { id: '2', method: 'GET', url: collectionPath }]);
        const items = byId(((await res.json()) as { responses: BatchItemResponse[] }).responses);
        expect(items.get('1')?.status).toBe(405);
        expect(items.get('2')?.status).toBe(200);
    });
});
