/**
 * The real ManagedIdentityCredential against an identity endpoint that refuses to issue tokens. Its own file
 * because MSAL's identity source is a process-wide static. A 400 fails fast; a refused connection would take
 * about 6 s of SDK retries.
 */
import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { GraphConfig } from '../../src/config';
import { jsonLineLogger } from '../../src/log';
import { createGraphClient } from '../../src/graph/client';
import { GraphTokenSource, TokenUnavailableError } from '../../src/graph/token';
import { createEntityWriter } from '../../src/graph/writer';
import { entity } from './entity-fixture';
import { reply, type ScriptedServer, startScriptedServer } from './scripted-server';

const IDENTITY_HEADER = randomUUID();
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
let identity: ScriptedServer;
let graph: ScriptedServer;

beforeAll(async () => {
    identity = await startScriptedServer((_req, res) =>
        reply(res, 400, { statusCode: 400, message: 'Unable to load the proper Managed Identity.', correlationId: randomUUID() }),
    );
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

describe('managed identity down', () => {
    it('turns every write into a systemic TokenUnavailable retry without calling Graph, logged once', async () => {
        const config: GraphConfig = {
            baseUrl: graph.url,
            apiVersion: 'beta',
            scope: 'https://graph.microsoft.com/.default',
            credential: 'managedidentity',
            timeoutMs: 5_000,
            maxConcurrency: 4,
            retryBudgetMs: 1_000,
            insecureLoopback: true,
        };
        const lines: string[] = [];
        const logger = jsonLineLogger((l) => lines.push(l), 'debug');
        const writer = createEntityWriter({
            client: createGraphClient({ config, tokens: GraphTokenSource.fromConfig(config), logger }),
            logger,
            maxConcurrency: config.maxConcurrency,
            retryBudgetMs: config.retryBudgetMs,
        });
        const entities = Array.from({ length: 12 }, (_, i) => entity(i));

        const first = await writer.write(entities, { deadlineAt: Date.now() + 10_000 });
        await writer.write([entity(99)], { deadlineAt: Date.now() + 10_000 });

        expect(graph.requests).toHaveLength(0);
        for (const e of entities) {
            const outcome = first.get(e.id);
            expect(outcome).toMatchObject({ kind: 'retry', systemic: true, errorCode: 'TokenUnavailable', entityId: e.id });
            expect(outcome?.kind === 'retry' && outcome.description).toContain('Unable to load the proper Managed Identity');
        }
        const alarms = lines.filter((l) => l.includes('graph.systemicFailure'));
        expect(alarms).toHaveLength(1);
        expect(alarms[0]).toContain('IDENTITY_ENDPOINT');
        for (const line of lines) expect(line).not.toContain(IDENTITY_HEADER);
    });

    it('surfaces the failure from the token source as TokenUnavailableError', async () => {
        const source = GraphTokenSource.fromConfig({
            baseUrl: 'https://graph.microsoft.com',
            apiVersion: 'beta',
            scope: 'https://graph.microsoft.com/.default',
            credential: 'managedidentity',
            timeoutMs: 1_000,
            maxConcurrency: 1,
            retryBudgetMs: 0,
            insecureLoopback: false,
        });
        await expect(source.getToken()).rejects.toBeInstanceOf(TokenUnavailableError);
    });
});
