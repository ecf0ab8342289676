/**
 * The real ManagedIdentityCredential against a loopback App Service identity endpoint. MSAL keeps the identity
 * source and token cache in process-wide statics, so this file owns its own endpoint (vitest isolates files).
 */
import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { GraphConfig } from '../../src/config';
import { jsonLineLogger } from '../../src/log';
import { createGraphClient } from '../../src/graph/client';
import { GraphTokenSource } from '../../src/graph/token';
import { createEntityWriter } from '../../src/graph/writer';
import { entity } from './entity-fixture';
import { reply, type ScriptedServer, startScriptedServer } from './scripted-server';

const IDENTITY_HEADER = randomUUID();
const CLIENT_ID = randomUUID();
// Every variable that could steer MSAL to another identity source.
const identityEnv = [
    'IDENTITY_ENDPOINT',
    'IDENTITY_HEADER',
    'IDENTITY_SERVER_THUMBPRINT',
    'MSI_ENDPOINT',
    'MSI_SECRET',
    'IMDS_ENDPOINT',
    'AZURE_FEDERATED_TOKEN_FILE',
];
const savedEnv = Object.fromEntries(identityEnv.map((k) => [k, process.env[k]]));
const issued: string[] = [];
let identity: ScriptedServer;
let graph: ScriptedServer;

beforeAll(async () => {
    identity = await startScriptedServer((req, res) => {
        if (req.headers['x-identity-header'] !== IDENTITY_HEADER) {
            reply(res, 401, { error: 'unauthorized', error_description: 'bad X-IDENTITY-HEADER' });
            return;
        }
        const token = `mi-token-${req.seq}-${randomUUID()}`;
        issued.push(token);
        reply(res, 200, {
            access_token: token,
            expires_on: String(Math.floor(Date.now() / 1000) + 3600),
            resource: req.query.resource,
            token_type: 'Bearer',
            client_id: req.query.client_id ?? '00000000-0000-0000-0000-000000000000',
        });
    });
    graph = await startScriptedServer((req, res) => reply(res, 201, req.body));
    for (const k of identityEnv) delete process.env[k];
    process.env.IDENTITY_ENDPOINT = `${identity.url}/msi/token`;
    process.env.IDENTITY_HEADER = IDENTITY_HEADER;
});

afterAll(async () => {
    for (const [k, v] of Object.entries(savedEnv)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
    await identity.close();
    await graph.close();
});

function configFor(clientId?: string): GraphConfig {
    return {
        baseUrl: graph.url,
        apiVersion: 'beta',
        scope: 'https://graph.microsoft.com/.default',
        credential: 'managedidentity',
        ...(clientId ? { clientId } : {}),
        timeoutMs: 5_000,
        maxConcurrency: 8,
        retryBudgetMs: 1_000,
        insecureLoopback: true,
    };
}

describe('managed identity token for Graph writes', () => {
    it('gets one user-assigned token for many writes, even when the first ones run concurrently, and never logs it', async () => {
        const config = configFor(CLIENT_ID);
        const lines: string[] = [];
        const logger = jsonLineLogger((l) => lines.push(l), 'debug');
        const client = createGraphClient({ config, tokens: GraphTokenSource.fromConfig(config), logger });
        const writer = createEntityWriter({ client, logger, maxConcurrency: config.maxConcurrency, retryBudgetMs: config.retryBudgetMs });
        const entities = Array.from({ length: 20 }, (_, i) => entity(i));

        // A cold cache hit by 8 concurrent requests, then one write at a time.
        const concurrent = await writer.write(entities.slice(0, 10), { deadlineAt: Date.now() + 10_000 });
        expect([...concurrent.values()].every((o) => o.kind === 'complete' && o.write === 'created')).toBe(true);
        for (const e of entities.slice(10)) {
            const outcome = (await writer.write([e], { deadlineAt: Date.now() + 10_000 })).get(e.id);
            expect(outcome).toMatchObject({ kind: 'complete', write: 'created' });
        }

        expect(identity.requests).toHaveLength(1);
        expect(identity.requests[0]).toMatchObject({
            method: 'GET',
            path: '/msi/token',
            query: { 'api-version': '2019-08-01', resource: 'https://graph.microsoft.com', client_id: CLIENT_ID },
        });
        expect(identity.requests[0]!.headers['x-identity-header']).toBe(IDENTITY_HEADER);
        expect(graph.requests).toHaveLength(20);
        for (const r of graph.requests) expect(r.headers.authorization).toBe(`Bearer ${issued[0]}`);
        expect(lines.length).toBeGreaterThanOrEqual(20);
        for (const line of lines) {
            expect(line).not.toContain(issued[0]);
            expect(line).not.toContain(IDENTITY_HEADER);
        }
    });

    it('asks for a system-assigned token without an id parameter', async () => {
        const before = identity.requests.length;
        const token = await GraphTokenSource.fromConfig(configFor()).getToken();
        expect(identity.requests.slice(before)).toHaveLength(1);
        expect(identity.requests.at(-1)!.query).toEqual({ 'api-version': '2019-08-01', resource: 'https://graph.microsoft.com' });
        expect(token).toBe(issued.at(-1));
    });
});
