import { setTimeout as delay } from 'node:timers/promises';

import { afterEach, describe, expect, it } from 'vitest';

import type { AggregatedPolicyCompliance } from '../../src/entity';
import { formatLogLine, memoryLogger } from '../../src/log';
import { createGraphClient, type GraphClient } from '../../src/graph/client';
import { TokenUnavailableError, type BearerTokenSource } from '../../src/graph/token';
import { createEntityWriter, type EntityWriter, type WriteOutcome } from '../../src/graph/writer';
import { COLLECTION, entity } from './entity-fixture';
import { GUID, reply, replyError, type Script, type ScriptedServer, startScriptedServer } from './scripted-server';

const TOKEN = 'test-token-abc';
const okTokens: BearerTokenSource = { getToken: () => Promise.resolve(TOKEN) };
let server: ScriptedServer | undefined;

afterEach(async () => {
    await server?.close();
    server = undefined;
});

interface Setup {
    maxConcurrency?: number;
    retryBudgetMs?: number;
    timeoutMs?: number;
    tokens?: BearerTokenSource;
    sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

async function setup(script: Script, options: Setup = {}) {
    const graph = await startScriptedServer(script);
    server = graph;
    const logger = memoryLogger();
    const client = createGraphClient({
        config: { baseUrl: graph.url, apiVersion: 'beta', timeoutMs: options.timeoutMs ?? 2_000, insecureLoopback: true },
        tokens: options.tokens ?? okTokens,
        logger,
    });
    const writer = createEntityWriter({
        client,
        logger,
        maxConcurrency: options.maxConcurrency ?? 4,
        retryBudgetMs: options.retryBudgetMs ?? 1_000,
        ...(options.sleep ? { sleep: options.sleep } : {}),
    });
    return { graph, logger, writer };
}

const inTenSeconds = () => ({ deadlineAt: Date.now() + 10_000 });

/** The outcome of writing one entity on its own. */
async function writeOne(writer: EntityWriter, e: AggregatedPolicyCompliance): Promise<WriteOutcome | undefined> {
    return (await writer.write([e], inTenSeconds())).get(e.id);
}

describe('entity writer: create and idempotent update', () => {
    it('completes a 201 as created, with the request-id from the response', async () => {
        const e = entity();
        const { graph, writer, logger } = await setup((_req, res) => reply(res, 201, e, { 'request-id': 'created-1' }));

        const outcomes = await writer.write([e], inTenSeconds());

        expect(outcomes.get(e.id)).toEqual({ kind: 'complete', write: 'created', entityId: e.id, graphRequestId: 'created-1' });
        expect(graph.requests).toHaveLength(1);
        expect(graph.requests[0]).toMatchObject({ method: 'POST', path: COLLECTION, body: e });
        expect(graph.requests[0]!.headers).toMatchObject({ authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' });
        expect(logger.records).toContainEqual(
            expect.objectContaining({
                level: 'debug',
                fields: expect.objectContaining({ graphRequestId: 'created-1', clientRequestId: expect.stringMatching(GUID) }),
            }),
        );
    });

    it.each([
        ['newer', '2021-07-11T01:02:33.4452877Z', 'stale'],
        ['the same', '2021-07-11T01:02:33.4452876Z', 'duplicate'],
    ])('completes a 409 as unchanged without PATCH when Graph holds %s refresh', async (_label, stored, reason) => {
        const e = entity();
        const { graph, writer, logger } = await setup((req, res) =>
            req.method === 'POST' ? replyError(res, 409, 'Conflict', 'exists') : reply(res, 200, { ...e, lastRefreshedDateTime: stored }),
        );

        const outcomes = await writer.write([e], inTenSeconds());

        expect(outcomes.get(e.id)).toMatchObject({ kind: 'complete', write: 'unchanged', entityId: e.id });
        expect(graph.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
            `POST ${COLLECTION}`,
            `GET ${COLLECTION}/${encodeURIComponent(e.id)}`,
        ]);
        expect(logger.records).toContainEqual(
            expect.objectContaining({ event: 'graph.entity.unchanged', fields: expect.objectContaining({ reason }) }),
        );
    });

    it('PATCHes an older stored copy (without the key) and completes as updated', async () => {
        const e = entity();
        const { graph, writer } = await setup((req, res) => {
            if (req.method === 'POST') replyError(res, 409, 'Conflict', 'exists');
            else if (req.method === 'GET') reply(res, 200, { ...e, lastRefreshedDateTime: '2021-07-11T01:02:33Z' });
            else reply(res, 204, undefined, { 'request-id': 'patched' });
        });

        const outcomes = await writer.write([e], inTenSeconds());

        expect(outcomes.get(e.id)).toEqual({ kind: 'complete', write: 'updated', entityId: e.id, graphRequestId: 'patched' });
        const patch = graph.requests[2]!;
        expect(patch).toMatchObject({ method: 'PATCH', path: `${COLLECTION}/${encodeURIComponent(e.id)}` });
        const { id: _key, ...withoutKey } = e;
        expect(patch.body).toEqual(withoutKey);
        const ids = graph.requests.map((r) => r.headers['client-request-id']);
        for (const id of ids) expect(id).toMatch(GUID);
        expect(new Set(ids).size).toBe(3);
    });

    it('POSTs again once when the conflicting entity vanished before the GET', async () => {
        const e = entity();
        const { graph, writer } = await setup((req, res) => {
            if (req.method === 'GET') replyError(res, 404, 'itemNotFound', 'gone');
            else if (req.seq === 1) replyError(res, 409, 'Conflict', 'exists');
            else reply(res, 201, e);
        });

        const outcomes = await writer.write([e], inTenSeconds());

        expect(outcomes.get(e.id)).toMatchObject({ kind: 'complete', write: 'created' });
        expect(graph.requests.map((r) => r.method)).toEqual(['POST', 'GET', 'POST']);
    });
});

describe('entity writer: rejections', () => {
    it('dead-letters a 400 as GraphRejected with code, message and request-id', async () => {
        const e = entity();
        const message = "Invalid value for 'numberOfErrorDevices' Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig";
        const { writer } = await setup((_req, res) => replyError(res, 400, 'Request_BadRequest', message, { 'request-id': 'bad-1' }));

        const outcome = await writeOne(writer, e);

        expect(outcome).toMatchObject({
            kind: 'deadLetter',
            reason: 'GraphRejected',
            entityId: e.id,
            properties: { graphStatus: 400, graphErrorCode: 'Request_BadRequest', graphRequestId: 'bad-1' },
        });
        const description = outcome?.kind === 'deadLetter' ? outcome.description : '';
        expect(description).toContain('Request_BadRequest');
        expect(description).toContain("Invalid value for 'numberOfErrorDevices'");
        expect(description).toContain('bad-1');
        expect(description).not.toContain('eyJzdWIiOiIxMjM0In0');
        expect(description.length).toBeLessThanOrEqual(1024);
    });

    it('dead-letters a 422 on PATCH', async () => {
        const e = entity();
        const { writer } = await setup((req, res) => {
            if (req.method === 'POST') replyError(res, 409, 'Conflict', 'exists');
            else if (req.method === 'GET') reply(res, 200, { ...e, lastRefreshedDateTime: '2020-01-01T00:00:00Z' });
            else replyError(res, 422, 'UnprocessableEntity', 'no');
        });
        expect(await writeOne(writer, e)).toMatchObject({ kind: 'deadLetter', properties: { graphStatus: 422 } });
    });

    it.each([
        [412, 'GraphPreconditionFailed'],
        [404, 'GraphEntityNotFound'],
    ])('gives a %i on PATCH back for redelivery as %s without retrying in-process', async (status, errorCode) => {
        const e = entity();
        const { graph, writer } = await setup((req, res) => {
            if (req.method === 'POST') replyError(res, 409, 'Conflict', 'exists');
            else if (req.method === 'GET') reply(res, 200, { ...e, lastRefreshedDateTime: '2020-01-01T00:00:00Z' });
            else replyError(res, status, 'x', 'y');
        });
        expect(await writeOne(writer, e)).toMatchObject({ kind: 'retry', errorCode, systemic: false, graphStatus: status });
        expect(graph.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);
    });
});

describe('entity writer: systemic failures', () => {
    it.each([
        [401, 'GraphUnauthorized', 'GRAPH_SCOPE'],
        [403, 'GraphForbidden', 'app role'],
        [404, 'GraphCollectionNotFound', 'GRAPH_API_VERSION'],
        [405, 'GraphMethodNotAllowed', 'does not implement'],
        [501, 'GraphNotImplemented', 'does not implement'],
    ])('%i stops the batch after one request, marks every entity systemic %s and logs once per window', async (status, errorCode, hint) => {
        const { graph, writer, logger } = await setup(
            (_req, res) => replyError(res, status, 'code', 'message', { 'request-id': `sys-${status}` }),
            { maxConcurrency: 1 },
        );
        const first = Array.from({ length: 10 }, (_, i) => entity(i));
        const second = Array.from({ length: 5 }, (_, i) => entity(100 + i));

        const outcomes = await writer.write(first, inTenSeconds());
        await writer.write(second, inTenSeconds());

        expect(graph.requests).toHaveLength(2);
        for (const e of first) {
            expect(outcomes.get(e.id)).toMatchObject({
                kind: 'retry',
                systemic: true,
                errorCode,
                graphStatus: status,
                graphRequestId: `sys-${status}`,
                entityId: e.id,
            });
        }
        const alarms = logger.records.filter((r) => r.event === 'graph.systemicFailure');
        expect(alarms).toHaveLength(1);
        expect(alarms[0]).toMatchObject({ level: 'error', fields: { errorCode, graphStatus: status } });
        expect(String(alarms[0]!.fields.remediation)).toContain(hint);
    });

    it('stops sending once concurrent requests hit the same systemic failure', async () => {
        const { graph, writer } = await setup(
            (_req, res) => replyError(res, 403, 'Authorization_RequestDenied', 'Insufficient privileges'),
            { maxConcurrency: 4 },
        );
        const entities = Array.from({ length: 40 }, (_, i) => entity(i));

        const outcomes = await writer.write(entities, inTenSeconds());

        expect(graph.requests.length).toBeLessThanOrEqual(4);
        expect([...outcomes.values()].every((o) => o.kind === 'retry' && o.errorCode === 'GraphForbidden' && o.systemic)).toBe(true);
        expect(outcomes.size).toBe(40);
    });

    it('maps a token failure to systemic TokenUnavailable without calling Graph', async () => {
        const unavailable = new TokenUnavailableError('https://graph.microsoft.com/.default', 'Network unreachable');
        const tokens: BearerTokenSource = { getToken: () => Promise.reject(unavailable) };
        const { graph, writer, logger } = await setup(() => undefined, { tokens });
        const entities = Array.from({ length: 6 }, (_, i) => entity(i));

        const outcomes = await writer.write(entities, inTenSeconds());

        expect(graph.requests).toHaveLength(0);
        for (const e of entities) {
            expect(outcomes.get(e.id)).toMatchObject({ kind: 'retry', systemic: true, errorCode: 'TokenUnavailable' });
        }
        const alarms = logger.records.filter((r) => r.event === 'graph.systemicFailure');
        expect(alarms).toHaveLength(1);
        expect(String(alarms[0]!.fields.remediation)).toContain('IDENTITY_ENDPOINT');
    });
});

describe('entity writer: transient failures', () => {
    it('honours a fractional Retry-After and then completes', async () => {
        const waits: number[] = [];
        const sleep = (ms: number, signal?: AbortSignal) => {
            waits.push(ms);
            return delay(ms, undefined, { signal });
        };
        const e = entity();
        const { graph, writer } = await setup(
            (req, res) => {
                if (req.seq === 1) replyError(res, 429, 'TooManyRequests', 'slow down', { 'Retry-After': '0.05' });
                else reply(res, 201, e);
            },
            { sleep },
        );

        const outcomes = await writer.write([e], inTenSeconds());

        expect(outcomes.get(e.id)).toMatchObject({ kind: 'complete', write: 'created' });
        expect(waits).toEqual([50]);
        expect(graph.requests).toHaveLength(2);
    });

    it('gives back a 429 whose Retry-After exceeds the budget, carrying retryAfterMs', async () => {
        const e = entity();
        const { graph, writer } = await setup(
            (_req, res) => replyError(res, 429, 'TooManyRequests', 'later', { 'Retry-After': '30', 'request-id': 'thr-1' }),
            { retryBudgetMs: 1_000 },
        );

        expect(await writeOne(writer, e)).toMatchObject({
            kind: 'retry',
            errorCode: 'GraphThrottled',
            systemic: false,
            retryAfterMs: 30_000,
            graphStatus: 429,
            graphRequestId: 'thr-1',
        });
        expect(graph.requests).toHaveLength(1);
    });

    it('backs off on a 503 without Retry-After and then completes', async () => {
        const waits: number[] = [];
        const sleep = (ms: number, signal?: AbortSignal) => {
            waits.push(ms);
            return delay(ms, undefined, { signal });
        };
        const e = entity();
        const { writer } = await setup(
            (req, res) => {
                if (req.seq === 1) replyError(res, 503, 'serviceNotAvailable', 'busy');
                else reply(res, 201, e);
            },
            { sleep },
        );

        expect(await writeOne(writer, e)).toMatchObject({ kind: 'complete', write: 'created' });
        expect(waits).toHaveLength(1);
        expect(waits[0]).toBeGreaterThanOrEqual(50);
        expect(waits[0]).toBeLessThanOrEqual(100);
    });

    it('gives back 5xx as GraphUnavailable once the budget is spent', async () => {
        const e = entity();
        const { graph, writer } = await setup((_req, res) => replyError(res, 502, 'badGateway', 'down'), { retryBudgetMs: 0 });
        const outcome = await writeOne(writer, e);
        expect(outcome).toMatchObject({ kind: 'retry', errorCode: 'GraphUnavailable', systemic: false, graphStatus: 502 });
        expect(graph.requests).toHaveLength(1);
    });

    it('reports a server that never answers as GraphTimeout', async () => {
        const e = entity();
        const { writer } = await setup(() => undefined, { timeoutMs: 150, retryBudgetMs: 0 });
        const outcome = await writeOne(writer, e);
        expect(outcome).toMatchObject({ kind: 'retry', errorCode: 'GraphTimeout', systemic: false });
        expect(outcome).not.toHaveProperty('graphStatus');
    });

    it('retries a dropped connection, and reports GraphNetworkError when it keeps dropping', async () => {
        const e = entity();
        const flaky = await setup((req, res, raw) => {
            if (req.seq === 1) raw.socket.destroy();
            else reply(res, 201, e);
        });
        expect(await writeOne(flaky.writer, e)).toMatchObject({ kind: 'complete', write: 'created' });
        expect(flaky.graph.requests).toHaveLength(2);
        await flaky.graph.close();

        const dead = await setup(
            (_req, _res, raw) => {
                raw.socket.destroy();
            },
            { retryBudgetMs: 0 },
        );
        expect(await writeOne(dead.writer, e)).toMatchObject({ kind: 'retry', errorCode: 'GraphNetworkError', systemic: false });
    });
});

describe('entity writer: deadline, cancellation and concurrency', () => {
    it('marks everything unfinished at the deadline as DeadlineExceeded', async () => {
        const { writer } = await setup(() => undefined, { maxConcurrency: 1, timeoutMs: 5_000 });
        const entities = Array.from({ length: 3 }, (_, i) => entity(i));

        const outcomes = await writer.write(entities, { deadlineAt: Date.now() + 150 });

        for (const e of entities) {
            expect(outcomes.get(e.id)).toMatchObject({ kind: 'retry', errorCode: 'DeadlineExceeded', systemic: false, entityId: e.id });
        }
    });

    it('does not call Graph when the deadline has already passed', async () => {
        const { graph, writer } = await setup((_req, res) => reply(res, 201, {}));
        const outcomes = await writer.write([entity(1), entity(2)], { deadlineAt: Date.now() - 1 });
        expect(graph.requests).toHaveLength(0);
        expect([...outcomes.values()].map((o) => o.kind === 'retry' && o.errorCode)).toEqual(['DeadlineExceeded', 'DeadlineExceeded']);
    });

    it('reports a caller cancellation as WriteCancelled', async () => {
        const { writer } = await setup(() => undefined, { timeoutMs: 5_000 });
        const e = entity();
        const outcome = (await writer.write([e], { deadlineAt: Date.now() + 10_000, signal: AbortSignal.timeout(50) })).get(e.id);
        expect(outcome).toMatchObject({ kind: 'retry', errorCode: 'WriteCancelled', systemic: false });
    });

    it('never has more than maxConcurrency requests in flight, across concurrent writes', async () => {
        const { graph, writer } = await setup(
            async (req, res) => {
                await delay(20);
                reply(res, 201, req.body);
            },
            { maxConcurrency: 3 },
        );
        const batch = (from: number) => Array.from({ length: 8 }, (_, i) => entity(from + i));

        const [a, b] = await Promise.all([writer.write(batch(0), inTenSeconds()), writer.write(batch(100), inTenSeconds())]);

        expect(graph.requests).toHaveLength(16);
        expect(graph.maxInFlight).toBe(3);
        expect([...a.values(), ...b.values()].every((o) => o.kind === 'complete' && o.write === 'created')).toBe(true);
    });

    it('never throws: a failing client still yields an outcome per entity', async () => {
        const logger = memoryLogger();
        const client: GraphClient = {
            request: () => Promise.reject(new Error(`boom Bearer ${TOKEN}`)),
            batch: () => Promise.reject(new Error('unused')),
        };
        const writer = createEntityWriter({ client, logger, maxConcurrency: 2, retryBudgetMs: 0 });
        const entities = [entity(1), entity(2), entity(3)];

        const outcomes = await writer.write(entities, inTenSeconds());

        for (const e of entities) {
            expect(outcomes.get(e.id)).toMatchObject({ kind: 'retry', errorCode: 'GraphWriterError', systemic: false });
        }
        expect(logger.records.map((r) => formatLogLine(r.level, r.event, r.fields)).join('\n')).not.toContain(TOKEN);
        expect(JSON.stringify([...outcomes.values()])).not.toContain(TOKEN);
    });
});

describe('entity writer: conflict edge cases', () => {
    it('overwrites a stored copy whose refresh time is missing or unparsable', async () => {
        const e = entity();
        const { graph, writer } = await setup((req, res) => {
            if (req.method === 'POST') replyError(res, 409, 'Conflict', 'exists');
            else if (req.method === 'GET') reply(res, 200, { ...e, lastRefreshedDateTime: 'yesterday' });
            else reply(res, 200, {});
        });
        expect(await writeOne(writer, e)).toMatchObject({ kind: 'complete', write: 'updated' });
        expect(graph.requests.map((r) => r.method)).toEqual(['POST', 'GET', 'PATCH']);
    });

    it('gives up after one re-POST when the entity keeps conflicting and vanishing', async () => {
        const e = entity();
        const { graph, writer } = await setup((req, res) =>
            req.method === 'POST' ? replyError(res, 409, 'Conflict', 'exists') : replyError(res, 404, 'itemNotFound', 'gone'),
        );
        expect(await writeOne(writer, e)).toMatchObject({ kind: 'retry', errorCode: 'GraphConflictUnresolved', systemic: false });
        expect(graph.requests.map((r) => r.method)).toEqual(['POST', 'GET', 'POST', 'GET']);
    });
});
