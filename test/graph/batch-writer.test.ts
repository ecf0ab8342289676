import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { createWriter } from '../../src/compose';
import type { GraphConfig } from '../../src/config';
import { startGraphStandIn, type GraphStandIn } from '../../src/emulators/graph';
import { startIdentityStandIn, type IdentityStandIn } from '../../src/emulators/identity';
import type { AggregatedPolicyCompliance } from '../../src/entity';
import { createBatchEntityWriter } from '../../src/graph/batch-writer';
import { createGraphClient } from '../../src/graph/client';
import { TokenUnavailableError, type BearerTokenSource } from '../../src/graph/token';
import type { WriteOutcome } from '../../src/graph/writer';
import { memoryLogger } from '../../src/log';
import { entity } from './entity-fixture';
import { reply, type RecordedRequest, type ScriptedServer, startScriptedServer } from './scripted-server';

const COLLECTION = '/tenantRelationships/managedTenants/aggregatedPolicyCompliances';
const BATCH_PATH = '/beta/$batch';
const okTokens: BearerTokenSource = { getToken: () => Promise.resolve('batch-token') };

interface SubRequest {
    readonly id: string;
    readonly method: string;
    readonly url: string;
    readonly headers?: Record<string, string>;
    readonly body?: AggregatedPolicyCompliance;
}

interface ItemAnswer {
    readonly status: number;
    readonly body?: unknown;
    readonly headers?: Record<string, string>;
}

/** Answers one sub-request; `seen` counts how often this method for this entity arrived before (0 the first time). */
type ItemScript = (item: SubRequest, seen: number) => ItemAnswer;

let server: ScriptedServer | undefined;
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
    await server?.close();
    server = undefined;
    for (const cleanup of cleanups.splice(0)) await cleanup();
});

const subRequests = (req: RecordedRequest) => (req.body as { requests: SubRequest[] }).requests;
const idOf = (item: SubRequest) => item.body?.id ?? decodeURIComponent(item.url.split('/').pop()!);
const graphError = (code: string, message: string) => ({ error: { code, message, innerError: { 'request-id': `inner-${code}` } } });

/** A `$batch` endpoint answering items through `script`; `reverse` answers them in reverse order. */
async function setup(script: ItemScript, options: { maxConcurrency?: number; retryBudgetMs?: number; timeoutMs?: number; tokens?: BearerTokenSource } = {}) {
    const seen = new Map<string, number>();
    const graph = await startScriptedServer((req, res) => {
        const answers = subRequests(req).map((item) => {
            const key = `${item.method} ${idOf(item)}`;
            const count = seen.get(key) ?? 0;
            seen.set(key, count + 1);
            const answer = script(item, count);
            return { id: item.id, status: answer.status, headers: { 'content-type': 'application/json', ...answer.headers }, body: answer.body };
        });
        reply(res, 200, { responses: answers.reverse() }, { 'request-id': `envelope-${req.seq}` });
    });
    server = graph;
    return { graph, ...writerFor(graph.url, options) };
}

function writerFor(url: string, options: { maxConcurrency?: number; retryBudgetMs?: number; timeoutMs?: number; tokens?: BearerTokenSource } = {}) {
    const logger = memoryLogger();
    const client = createGraphClient({
        config: { baseUrl: url, apiVersion: 'beta', timeoutMs: options.timeoutMs ?? 2_000, insecureLoopback: true },
        tokens: options.tokens ?? okTokens,
        logger,
    });
    const writer = createBatchEntityWriter({ client, logger, maxConcurrency: options.maxConcurrency ?? 4, retryBudgetMs: options.retryBudgetMs ?? 1_000 });
    return { writer, logger };
}

const inTenSeconds = () => ({ deadlineAt: Date.now() + 10_000 });
const many = (n: number, from = 0) => Array.from({ length: n }, (_, i) => entity(from + i));
const batches = (graph: ScriptedServer) => graph.requests.filter((r) => r.path === BATCH_PATH);

describe('batch writer: per-item outcomes', () => {
    it('judges each sub-request on its own: 201, 400, 409 → newer, 409 → older → PATCH, 503 → retried', async () => {
        const [created, rejected, stale, older, unavailable] = many(5);
        const { graph, writer } = await setup((item, seen): ItemAnswer => {
            const id = idOf(item);
            if (item.method === 'POST') {
                if (id === rejected!.id) return { status: 400, body: graphError('BadRequest', 'bad property') };
                if (id === stale!.id || id === older!.id) return { status: 409, body: graphError('Conflict', 'exists') };
                if (id === unavailable!.id && seen === 0) return { status: 503, body: graphError('serviceNotAvailable', 'busy'), headers: { 'Retry-After': '0' } };
                return { status: 201, body: item.body, headers: { 'request-id': `created-${id}` } };
            }
            if (item.method === 'GET') {
                const storedAt = id === stale!.id ? '2030-01-01T00:00:00Z' : '2020-01-01T00:00:00Z';
                return { status: 200, body: { id, lastRefreshedDateTime: storedAt } };
            }
            return { status: 204 };
        });

        const outcomes = await writer.write([created!, rejected!, stale!, older!, unavailable!], inTenSeconds());

        expect(outcomes.get(created!.id)).toEqual({ kind: 'complete', write: 'created', entityId: created!.id, graphRequestId: `created-${created!.id}` });
        expect(outcomes.get(rejected!.id)).toMatchObject({
            kind: 'deadLetter',
            reason: 'GraphRejected',
            properties: { graphStatus: 400, graphErrorCode: 'BadRequest', graphRequestId: 'inner-BadRequest' },
        });
        expect((outcomes.get(rejected!.id) as { description: string }).description).toContain('400 BadRequest: bad property');
        expect(outcomes.get(stale!.id)).toMatchObject({ kind: 'complete', write: 'unchanged' });
        expect(outcomes.get(older!.id)).toMatchObject({ kind: 'complete', write: 'updated' });
        expect(outcomes.get(unavailable!.id)).toMatchObject({ kind: 'complete', write: 'created' });

        // Round 1: five creates; round 2: both reads and the retried create; round 3: the one update.
        const rounds = batches(graph).map((r) => subRequests(r).map((i) => i.method));
        expect(rounds).toEqual([['POST', 'POST', 'POST', 'POST', 'POST'], ['GET', 'GET', 'POST'], ['PATCH']]);
        const [create] = subRequests(batches(graph)[0]!);
        expect(create).toMatchObject({ method: 'POST', url: COLLECTION, headers: { 'Content-Type': 'application/json' }, body: created });
        const [patch] = subRequests(batches(graph)[2]!);
        expect(patch!.url).toBe(`${COLLECTION}/${encodeURIComponent(older!.id)}`);
        expect(patch!.body).not.toHaveProperty('id');
        expect(patch!.body).toMatchObject({ lastRefreshedDateTime: older!.lastRefreshedDateTime });
    });

    it('retries a throttled item alone, after its own Retry-After', async () => {
        const entities = many(3);
        const sentAt: number[] = [];
        const { graph, writer } = await setup((item, seen) => {
            sentAt.push(Date.now());
            if (idOf(item) === entities[1]!.id && seen === 0) {
                return { status: 429, headers: { 'Retry-After': '0.15' }, body: graphError('TooManyRequests', 'slow down') };
            }
            return { status: 201, body: item.body };
        });

        const outcomes = await writer.write(entities, inTenSeconds());

        expect([...outcomes.values()].every((o) => o.kind === 'complete' && o.write === 'created')).toBe(true);
        const [first, second] = batches(graph);
        expect(subRequests(first!)).toHaveLength(3);
        expect(subRequests(second!).map(idOf)).toEqual([entities[1]!.id]);
        expect(sentAt[3]! - sentAt[0]!).toBeGreaterThanOrEqual(140);
    });

    it('hands a throttled item back with retryAfterMs when its Retry-After exceeds the budget', async () => {
        const entities = many(2);
        const { graph, writer } = await setup((item) =>
            idOf(item) === entities[0]!.id
                ? { status: 429, headers: { 'retry-after': '30' }, body: graphError('TooManyRequests', 'later') }
                : { status: 201, body: item.body },
        );

        const outcomes = await writer.write(entities, inTenSeconds());

        expect(outcomes.get(entities[0]!.id)).toMatchObject({ kind: 'retry', errorCode: 'GraphThrottled', retryAfterMs: 30_000, graphStatus: 429 });
        expect(outcomes.get(entities[1]!.id)).toMatchObject({ kind: 'complete', write: 'created' });
        expect(batches(graph)).toHaveLength(1);
    });

    it('correlates answers by id when Graph answers out of order', async () => {
        const entities = many(12);
        const { writer } = await setup((item) => ({ status: 201, body: item.body, headers: { 'request-id': `rid-${idOf(item)}` } }));

        const outcomes = await writer.write(entities, inTenSeconds());

        for (const e of entities) expect(outcomes.get(e.id)).toMatchObject({ kind: 'complete', graphRequestId: `rid-${e.id}` });
    });

    it('splits more than 20 entities into several batches of at most 20', async () => {
        const entities = many(45);
        const { graph, writer } = await setup((item) => ({ status: 201, body: item.body }));

        const outcomes = await writer.write(entities, inTenSeconds());

        expect(outcomes.size).toBe(45);
        expect([...outcomes.values()].every((o) => o.kind === 'complete')).toBe(true);
        expect(batches(graph).map((r) => subRequests(r).length).sort((a, b) => a - b)).toEqual([5, 20, 20]);
        expect(new Set(batches(graph).flatMap((r) => subRequests(r).map(idOf))).size).toBe(45);
    });
});

describe('batch writer: failures', () => {
    it('stops at a systemic item status: every entity gets the systemic outcome and no more batches go', async () => {
        const { graph, writer, logger } = await setup(() => ({ status: 403, body: graphError('Authorization_RequestDenied', 'no') }), { maxConcurrency: 1 });
        const entities = many(25);

        const outcomes = await writer.write(entities, inTenSeconds());

        expect(batches(graph)).toHaveLength(1);
        expect(outcomes.size).toBe(25);
        expect([...outcomes.values()].every((o) => o.kind === 'retry' && o.systemic && o.errorCode === 'GraphForbidden')).toBe(true);
        expect(logger.records.filter((r) => r.event === 'graph.systemicFailure')).toHaveLength(1);
    });

    it('treats a failed envelope (500) as every item failing, and retries the whole batch', async () => {
        const entities = many(4);
        const graph = await startScriptedServer((req, res) => {
            if (req.seq === 1) reply(res, 500, graphError('generalException', 'batch failed'));
            else reply(res, 200, { responses: subRequests(req).map((i) => ({ id: i.id, status: 201, headers: {}, body: i.body })) });
        });
        server = graph;
        const { writer } = writerFor(graph.url);

        const outcomes = await writer.write(entities, inTenSeconds());

        expect([...outcomes.values()].every((o) => o.kind === 'complete' && o.write === 'created')).toBe(true);
        expect(graph.requests.map((r) => subRequests(r).length)).toEqual([4, 4]);
    });

    it('retries a batch whose connection dropped, and gives up as GraphNetworkError when it keeps dropping', async () => {
        let drops = 1;
        const graph = await startScriptedServer((req, res, raw) => {
            if (drops-- > 0) return void raw.socket.destroy();
            reply(res, 200, { responses: subRequests(req).map((i) => ({ id: i.id, status: 201, headers: {}, body: i.body })) });
        });
        server = graph;
        const { writer } = writerFor(graph.url);
        const entities = many(3);

        expect([...(await writer.write(entities, inTenSeconds())).values()].every((o) => o.kind === 'complete')).toBe(true);

        drops = Number.POSITIVE_INFINITY;
        const failed = await writer.write(many(2, 10), inTenSeconds());
        expect([...failed.values()].every((o) => o.kind === 'retry' && o.errorCode === 'GraphNetworkError' && !o.systemic)).toBe(true);
    });

    it('gives a 200 envelope that lacks an item back as a transient failure for that item', async () => {
        const graph = await startScriptedServer((req, res) => {
            const [, ...answered] = subRequests(req);
            reply(res, 200, { responses: answered.map((i) => ({ id: i.id, status: 201, headers: {}, body: i.body })) });
        });
        server = graph;
        const { writer } = writerFor(graph.url, { retryBudgetMs: 0 });
        const entities = many(3);

        const outcomes = await writer.write(entities, inTenSeconds());

        expect(outcomes.get(entities[0]!.id)).toMatchObject({ kind: 'retry', errorCode: 'GraphNetworkError', systemic: false });
        expect(outcomes.get(entities[1]!.id)).toMatchObject({ kind: 'complete' });
    });

    it('marks everything unfinished at the deadline as DeadlineExceeded', async () => {
        const graph = await startScriptedServer(() => undefined);
        server = graph;
        const { writer } = writerFor(graph.url, { timeoutMs: 5_000 });
        const entities = many(30);

        const outcomes = await writer.write(entities, { deadlineAt: Date.now() + 150 });

        expect(outcomes.size).toBe(30);
        expect([...outcomes.values()].every((o) => o.kind === 'retry' && o.errorCode === 'DeadlineExceeded')).toBe(true);
    });

    it('maps a token failure to systemic TokenUnavailable without calling Graph', async () => {
        const tokens: BearerTokenSource = { getToken: () => Promise.reject(new TokenUnavailableError('scope/.default', 'down')) };
        const { graph, writer } = await setup(() => ({ status: 201 }), { tokens });

        const outcomes = await writer.write(many(25), inTenSeconds());

        expect(graph.requests).toHaveLength(0);
        expect([...outcomes.values()].every((o) => o.kind === 'retry' && o.systemic && o.errorCode === 'TokenUnavailable')).toBe(true);
    });
});

describe('batch writer against the Graph stand-in', () => {
    // MSAL keeps the identity source and its token cache in process-wide statics: one identity stand-in for the file.
    let identity: IdentityStandIn;
    const saved = { endpoint: process.env.IDENTITY_ENDPOINT, header: process.env.IDENTITY_HEADER };
    beforeAll(async () => {
        identity = await startIdentityStandIn();
        process.env.IDENTITY_ENDPOINT = identity.endpoint;
        process.env.IDENTITY_HEADER = identity.header;
    });
    afterAll(async () => {
        for (const [k, v] of [['IDENTITY_ENDPOINT', saved.endpoint], ['IDENTITY_HEADER', saved.header]] as const) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
        await identity.close();
    });

    async function standIn(): Promise<{ graph: GraphStandIn; config: GraphConfig }> {
        const graph = await startGraphStandIn({ identity: identity.verificationKey() });
        cleanups.push(() => graph.close());
        const config: GraphConfig = {
            baseUrl: graph.baseUrl,
            apiVersion: 'beta',
            scope: 'https://graph.microsoft.com/.default',
            credential: 'managedidentity',
            timeoutMs: 2_000,
            maxConcurrency: 4,
            retryBudgetMs: 2_000,
            insecureLoopback: true,
        };
        return { graph, config };
    }

    it('creates, rejects, skips stale copies and updates older ones through the composition, in $batch requests', async () => {
        const { graph, config } = await standIn();
        const writer = createWriter(config, memoryLogger());
        const existing = many(25);
        await writer.write(existing, inTenSeconds());

        const newer = existing.slice(0, 5).map((e) => ({ ...e, lastRefreshedDateTime: '2030-01-01T00:00:00Z', numberOfErrorDevices: 7 }));
        const stale = existing.slice(5, 10).map((e) => ({ ...e, lastRefreshedDateTime: '2001-01-01T00:00:00Z' }));
        const invalid = { ...entity(99), unknownProperty: 1 } as AggregatedPolicyCompliance;
        const fresh = many(3, 200);
        const outcomes = await writer.write([...newer, ...stale, invalid, ...fresh], inTenSeconds());

        const kinds = (list: readonly AggregatedPolicyCompliance[]) => list.map((e) => describeOutcome(outcomes.get(e.id)));
        expect(kinds(newer)).toEqual(Array(5).fill('complete:updated'));
        expect(kinds(stale)).toEqual(Array(5).fill('complete:unchanged'));
        expect(kinds(fresh)).toEqual(Array(3).fill('complete:created'));
        expect(outcomes.get(invalid.id)).toMatchObject({ kind: 'deadLetter', reason: 'GraphRejected', properties: { graphStatus: 400 } });
        expect(graph.entities().get(newer[0]!.id)).toMatchObject({ numberOfErrorDevices: 7 });
        expect(graph.stats().byKind.batch).toBeGreaterThan(0);
        expect(graph.stats().byKind.batch).toBe(graph.stats().requests);
    });

    it('retries items throttled by the stand-in until all are written', async () => {
        const { graph, config } = await standIn();
        graph.setFaults({ writeRateLimitPerSecond: 50 });
        const writer = createWriter({ ...config, retryBudgetMs: 5_000 }, memoryLogger());
        const entities = many(80);

        const outcomes = await writer.write(entities, inTenSeconds());

        expect([...outcomes.values()].map((o) => describeOutcome(o))).toEqual(Array(80).fill('complete:created'));
        expect(graph.stats().throttled).toBeGreaterThan(0);
        expect(graph.entities().size).toBe(80);
    });

    it('sends one request per write when GRAPH_BATCHING is off', async () => {
        const { graph, config } = await standIn();
        const writer = createWriter({ ...config, batching: false }, memoryLogger());

        const outcomes = await writer.write(many(5), inTenSeconds());

        expect([...outcomes.values()].every((o) => o.kind === 'complete')).toBe(true);
        expect(graph.stats().byKind).toMatchObject({ create: 5 });
        expect(graph.stats().byKind.batch ?? 0).toBe(0);
        expect(writer.concurrency).toBeGreaterThanOrEqual(1);
    });
});

function describeOutcome(o: WriteOutcome | undefined): string {
    if (!o) return 'missing';
    return o.kind === 'complete' ? `complete:${o.write}` : o.kind === 'deadLetter' ? `deadLetter:${o.reason}` : `retry:${o.errorCode}`;
}
