import { afterEach, describe, expect, it } from 'vitest';

import { ConfigurationError } from '../../src/errors';
import { createGraphClient, type GraphBatchRequest, retryAfterMs } from '../../src/graph/client';
import { TokenUnavailableError } from '../../src/graph/token';
import { memoryLogger } from '../../src/log';
import { closedPort, GUID, reply, replyError, type ScriptedServer, startScriptedServer } from './scripted-server';

const tokens = { getToken: () => Promise.resolve('test-token') };
let server: ScriptedServer | undefined;

afterEach(async () => {
    await server?.close();
    server = undefined;
});

function clientFor(baseUrl: string, overrides: { timeoutMs?: number; apiVersion?: string } = {}) {
    const logger = memoryLogger();
    const client = createGraphClient({
        config: { baseUrl, apiVersion: overrides.apiVersion ?? 'beta', timeoutMs: overrides.timeoutMs ?? 2_000, insecureLoopback: true },
        tokens,
        logger,
    });
    return { client, logger };
}

describe('Graph client requests', () => {
    it('sends the token, a fresh GUID client-request-id, JSON headers and the versioned URL, and reads request-id', async () => {
        server = await startScriptedServer((_req, res) => reply(res, 201, { id: 'x' }, { 'request-id': 'graph-req-1' }));
        const { client, logger } = clientFor(`${server.url}/prefix`);

        const first = await client.request({ method: 'POST', path: '/things', body: { a: 1 } });
        const second = await client.request({ method: 'GET', path: '/things/x' });

        expect(first).toMatchObject({ status: 201, body: { id: 'x' }, requestId: 'graph-req-1' });
        const [post, get] = server.requests;
        expect(post).toMatchObject({ method: 'POST', path: '/prefix/beta/things', body: { a: 1 } });
        expect(post!.headers).toMatchObject({
            authorization: 'Bearer test-token',
            accept: 'application/json',
            'content-type': 'application/json',
        });
        expect(get!.headers['content-type']).toBeUndefined();
        for (const [i, r] of server.requests.entries()) {
            expect(r.headers['client-request-id']).toMatch(GUID);
            expect(r.headers['client-request-id']).toBe([first, second][i]!.clientRequestId);
        }
        expect(first.clientRequestId).not.toBe(second.clientRequestId);
        const debug = logger.records.filter((r) => r.event === 'graph.request');
        expect(debug[0]).toMatchObject({
            level: 'debug',
            fields: { graphRequestId: 'graph-req-1', clientRequestId: first.clientRequestId },
        });
        expect(JSON.stringify(logger.records)).not.toContain('test-token');
    });

    it('parses Graph error bodies, tolerating the innererror spelling', async () => {
        server = await startScriptedServer((req, res) => {
            if (req.path.endsWith('/lower')) {
                res.writeHead(403, { 'content-type': 'application/json' });
                res.end(JSON.stringify({ error: { code: 'accessDenied', message: 'no', innererror: { 'request-id': 'from-body' } } }));
            } else if (req.path.endsWith('/html')) {
                res.writeHead(502, { 'content-type': 'text/html' });
                res.end('<html>bad gateway</html>');
            } else {
                replyError(res, 400, 'Request_BadRequest', 'Invalid property');
            }
        });
        const { client } = clientFor(server.url);

        const camel = await client.request({ method: 'GET', path: '/camel' });
        const lower = await client.request({ method: 'GET', path: '/lower' });
        const html = await client.request({ method: 'GET', path: '/html' });

        expect(camel.error).toEqual({
            code: 'Request_BadRequest',
            message: 'Invalid property',
            innerError: { date: '2025-02-13T10:17:06', 'request-id': 'inner-id' },
        });
        expect(lower).toMatchObject({ status: 403, requestId: 'from-body', error: { code: 'accessDenied', message: 'no' } });
        expect(html).toMatchObject({ status: 502, body: undefined });
        expect(html.error).toBeUndefined();
    });

    it('refuses a plain-http base URL unless insecureLoopback is set', () => {
        const http = { baseUrl: 'http://127.0.0.1:1', apiVersion: 'v1.0', timeoutMs: 1_000, insecureLoopback: false };
        const make = (config: typeof http) => () => createGraphClient({ config, tokens, logger: memoryLogger() });
        expect(make(http)).toThrow(ConfigurationError);
        expect(make({ ...http, baseUrl: 'ftp://127.0.0.1', insecureLoopback: true })).toThrow(ConfigurationError);
        expect(make({ ...http, insecureLoopback: true })).not.toThrow();
        expect(make({ ...http, baseUrl: 'https://graph.microsoft.com' })).not.toThrow();
    });
});

describe('Graph client network failures', () => {
    it('reports a server that never answers as a timeout', async () => {
        server = await startScriptedServer(() => undefined);
        const { client } = clientFor(server.url, { timeoutMs: 150 });
        const res = await client.request({ method: 'GET', path: '/slow' });
        expect(res).toMatchObject({ status: 0, networkError: 'timeout' });
        expect(res.clientRequestId).toMatch(GUID);
    });

    it('reports a dropped connection as reset and a closed port as refused', async () => {
        server = await startScriptedServer((_req, _res, raw) => {
            raw.socket.destroy();
        });
        const dropped = await clientFor(server.url).client.request({ method: 'POST', path: '/x', body: {} });
        const refused = await clientFor(`http://127.0.0.1:${await closedPort()}`).client.request({ method: 'GET', path: '/x' });
        expect(dropped).toMatchObject({ status: 0, networkError: 'reset' });
        expect(refused).toMatchObject({ status: 0, networkError: 'refused' });
    });

    it('reports the caller cancelling as aborted, not as a timeout', async () => {
        server = await startScriptedServer(() => undefined);
        const { client } = clientFor(server.url, { timeoutMs: 5_000 });
        const res = await client.request({ method: 'GET', path: '/slow', signal: AbortSignal.timeout(50) });
        expect(res).toMatchObject({ status: 0, networkError: 'aborted' });
    });
});

describe('retryAfterMs', () => {
    it('parses fractional seconds, HTTP-dates and batch header objects', () => {
        const now = Date.parse('2025-01-01T00:00:00Z');
        expect(retryAfterMs(new Headers({ 'Retry-After': '2.128' }))).toBe(2128);
        expect(retryAfterMs(new Headers({ 'Retry-After': '0' }))).toBe(0);
        expect(retryAfterMs(new Headers({ 'Retry-After': 'Wed, 01 Jan 2025 00:00:30 GMT' }), now)).toBe(30_000);
        expect(retryAfterMs(new Headers({ 'Retry-After': 'Tue, 31 Dec 2024 00:00:00 GMT' }), now)).toBe(0);
        expect(retryAfterMs({ 'Retry-After': '7' })).toBe(7_000);
        expect(retryAfterMs(new Headers({ 'Retry-After': 'soon' }))).toBeUndefined();
        expect(retryAfterMs(new Headers())).toBeUndefined();
    });
});

describe('Graph client $batch', () => {
    it('posts relative, unversioned sub-requests and correlates out-of-order items by id', async () => {
        server = await startScriptedServer((_req, res) =>
            reply(res, 200, {
                responses: [
                    {
                        id: 'B',
                        status: 429,
                        headers: { 'Retry-After': '7' },
                        body: { error: { code: 'TooManyRequests', message: 'slow down' } },
                    },
                    { id: 'a', status: 201, headers: {}, body: { id: 'e1' } },
                ],
            }),
        );
        const { client } = clientFor(server.url, { apiVersion: 'v1.0' });
        const requests: GraphBatchRequest[] = [
            { id: 'a', method: 'POST', url: '/tenantRelationships/managedTenants/aggregatedPolicyCompliances', body: { id: 'e1' } },
            { id: 'b', method: 'GET', url: '/tenantRelationships/managedTenants/aggregatedPolicyCompliances/e2' },
        ];

        const result = await client.batch(requests);

        expect(server.requests[0]).toMatchObject({
            method: 'POST',
            path: '/v1.0/$batch',
            body: {
                requests: [
                    { id: 'a', method: 'POST', url: requests[0]!.url, headers: { 'Content-Type': 'application/json' }, body: { id: 'e1' } },
                    { id: 'b', method: 'GET', url: requests[1]!.url },
                ],
            },
        });
        expect((server.requests[0]!.body as { requests: object[] }).requests[1]).not.toHaveProperty('body');
        expect(result.response.status).toBe(200);
        expect(result.items.get('a')).toMatchObject({ status: 201, body: { id: 'e1' } });
        expect(result.items.get('b')).toMatchObject({ status: 429, error: { code: 'TooManyRequests' } });
        expect(retryAfterMs(result.items.get('b')!.headers)).toBe(7_000);
    });

    it('rejects empty, oversized, duplicate-id and versioned batches before sending', async () => {
        const { client } = clientFor('http://127.0.0.1:1', { apiVersion: 'beta' });
        const item = (id: string, url = '/x'): GraphBatchRequest => ({ id, method: 'GET', url });
        await expect(client.batch([])).rejects.toThrow(RangeError);
        await expect(client.batch(Array.from({ length: 21 }, (_, i) => item(String(i))))).rejects.toThrow(/1 to 20/);
        await expect(client.batch([item('a'), item('A')])).rejects.toThrow(/unique/);
        await expect(client.batch([item('a', '/beta/x')])).rejects.toThrow(/without the version/);
        await expect(client.batch([item('a', 'https://graph.microsoft.com/beta/x')])).rejects.toThrow(/relative/);
    });
});

describe('Graph client waiting for a token', () => {
    // An identity endpoint that never answers within the request timeout.
    const stalled = { getToken: (signal?: AbortSignal) => new Promise<string>((_, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted')))) };

    it('blames the identity when the timeout runs out before a token arrives', async () => {
        const client = createGraphClient({ config: { baseUrl: 'http://127.0.0.1:1', apiVersion: 'v1.0', timeoutMs: 50, insecureLoopback: true }, tokens: stalled, logger: memoryLogger() });
        const failure: unknown = await client.request({ method: 'GET', path: '/x' }).catch((e: unknown) => e);
        expect(failure).toBeInstanceOf(TokenUnavailableError);
        expect((failure as Error).message).toContain('no token within GRAPH_TIMEOUT_MS (50 ms)');
    });

    it('reports the caller giving up while waiting for a token as a cancellation', async () => {
        const client = createGraphClient({ config: { baseUrl: 'http://127.0.0.1:1', apiVersion: 'v1.0', timeoutMs: 5_000, insecureLoopback: true }, tokens: stalled, logger: memoryLogger() });
        const res = await client.request({ method: 'GET', path: '/x', signal: AbortSignal.timeout(20) });
        expect(res).toMatchObject({ status: 0, networkError: 'aborted' });
    });
});
