import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ManagedIdentityCredential } from '@azure/identity';
import { ServiceBusClient } from '@azure/service-bus';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { runWorkerCommand } from '../../src/cli/worker';
import { createWriter } from '../../src/compose';
import { loadIngestConfig, loadWorkerConfig } from '../../src/config';
import { MAX_BODY_BYTES } from '../../src/contract/aggregate';
import { startGraphStandIn, type GraphStandIn } from '../../src/emulators/graph';
import { startIdentityStandIn, type IdentityStandIn } from '../../src/emulators/identity';
import { startServiceBusEmulator, type ServiceBusEmulator } from '../../src/emulators/servicebus';
import { ConfigurationError, ensureError, SettlementError } from '../../src/errors';
import { GraphTokenSource } from '../../src/graph/token';
import { jsonLineLogger, memoryLogger } from '../../src/log';
import { MAX_DESCRIPTION_LENGTH } from '../../src/outcome';
import { aggregate, idOf, queue } from '../e2e/stack';
import { faultSuiteEnv, until } from './traffic';

const cli = join(__dirname, '../../dist/src/cli/main.js');
const cwd = mkdtempSync(join(tmpdir(), 'ci-security-'));
const graphResource = 'https://graph.microsoft.com';
const contentType = 'application/json';

// Distinctive secrets, so any leak shows up as an exact match.
const sasKey = `PlantedSasKey${randomUUID().replaceAll('-', '')}=`;
const identityHeader = `planted-identity-header-${randomUUID()}`;

/** A Graph that answers every write 400 and echoes the request's Authorization header (and more secrets) in the error. */
interface EchoGraph {
    readonly baseUrl: string;
    /** Authorization headers received, i.e. the real tokens the worker sent. */
    readonly authorizations: Set<string>;
    close(): Promise<void>;
}

async function startEchoGraph(): Promise<EchoGraph> {
    const authorizations = new Set<string>();
    const server = http.createServer((req, res) => {
        const authorization = req.headers.authorization ?? '';
        authorizations.add(authorization);
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
            const error = (id: string) => ({
                error: {
                    code: 'BadRequest',
                    message:
                        `Request rejected. Authorization: ${authorization}; X-IDENTITY-HEADER: ${identityHeader}; ` +
                        `Endpoint=sb://x/;SharedAccessKey=${sasKey}`,
                    innerError: { 'request-id': id, date: new Date().toISOString() },
                },
            });
            let body: unknown;
            if (req.url?.endsWith('/$batch')) {
                const { requests } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { requests: { id: string }[] };
                const headers = { 'content-type': 'application/json' };
                body = { responses: requests.map((r) => ({ id: r.id, status: 400, headers, body: error(randomUUID()) })) };
            } else {
                res.statusCode = 400;
                body = error(randomUUID());
            }
            res.setHeader('content-type', 'application/json');
            res.end(JSON.stringify(body));
        });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
        baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        authorizations,
        close: () => {
            server.closeAllConnections();
            return new Promise((resolve) => server.close(() => resolve()));
        },
    };
}

let identity: IdentityStandIn;
let graph: GraphStandIn;
/** Verifies tokens against another audience: every token of ours is answered 401. */
let graphWrongAudience: GraphStandIn;
let echo: EchoGraph;
let serviceBus: ServiceBusEmulator;
let producer: ServiceBusClient;

beforeAll(async () => {
    identity = await startIdentityStandIn({ header: identityHeader });
    graph = await startGraphStandIn({ identity: identity.verificationKey() });
    graphWrongAudience = await startGraphStandIn({ identity: identity.verificationKey(), audience: 'https://not-graph.example' });
    echo = await startEchoGraph();
    serviceBus = await startServiceBusEmulator({ queues: [{ name: queue, properties: { lockDurationMs: 5_000 } }] });
    producer = new ServiceBusClient(serviceBus.connectionString);
    for (const k of ['IDENTITY_SERVER_THUMBPRINT', 'MSI_ENDPOINT', 'MSI_SECRET', 'IMDS_ENDPOINT']) delete process.env[k];
    process.env.IDENTITY_ENDPOINT = identity.endpoint;
    process.env.IDENTITY_HEADER = identityHeader;
});
afterAll(async () => {
    await producer.close();
    await Promise.all([serviceBus.close(), graph.close(), graphWrongAudience.close(), echo.close(), identity.close()]);
});

/** Worker settings with the planted SharedAccessKey in the connection string. */
function workerEnv(graphBaseUrl: string): Record<string, string> {
    return {
        ...faultSuiteEnv,
        ServiceBusConnection: serviceBus.connectionString.replace('SAS_KEY_VALUE', sasKey),
        COMPLIANCE_QUEUE_NAME: queue,
        GRAPH_BASE_URL: graphBaseUrl,
        GRAPH_SCOPE: `${graphResource}/.default`,
        IDENTITY_ENDPOINT: identity.endpoint,
        IDENTITY_HEADER: identityHeader,
    };
}

async function send(bodies: readonly string[], idPrefix = randomUUID()): Promise<void> {
    const sender = producer.createSender(queue);
    try {
        const messageId = (i: number) => `${idPrefix}-${i}`;
        await sender.sendMessages(bodies.map((b, i) => ({ body: Buffer.from(b), contentType, messageId: messageId(i) })));
    } finally {
        await sender.close();
    }
}

const settledCount = () => {
    const c = serviceBus.counts(queue);
    return c.active + c.locked + c.scheduled;
};

describe('secrets never leave the process in logs, errors or dead-letters', () => {
    it('across valid, invalid and Graph-rejected messages, 401s, 403s and an identity outage, in-process and through the CLI', async () => {
        serviceBus.reset();
        graph.reset();
        const logLines: string[] = [];
        const logger = jsonLineLogger((line) => logLines.push(line), 'debug');
        const written: string[] = [];
        const errors: string[] = [];
        const record = (stream: NodeJS.WriteStream) => {
            const write = stream.write.bind(stream);
            return vi.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: never[]) => {
                written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
                return write(chunk, ...rest);
            }) as typeof stream.write);
        };
        const spies = [record(process.stdout), record(process.stderr)];
        const run = (graphBaseUrl: string, signal: AbortSignal, drain = false) =>
            runWorkerCommand(workerEnv(graphBaseUrl), { drain, idleMs: 800, batchSize: 20, loops: 2 }, logger, signal).catch(
                (err: unknown) => {
                    errors.push(ensureError(err).message);
                    throw err;
                },
            );
        // Drain runs until nothing is active, locked or scheduled (delayed retries land after an idle drain ends).
        const drainAll = async (graphBaseUrl: string) => {
            do await run(graphBaseUrl, AbortSignal.timeout(20_000), true);
            while (settledCount() > 0);
        };
        const valid = (from: number, n: number) => Array.from({ length: n }, (_, i) => JSON.stringify(aggregate(from + i)));
        try {
            // 1. The identity endpoint fails before any token was ever issued; a direct token request fails too.
            identity.setFault('error500');
            await send([...valid(5_000, 10), '{"tenantId": "not a guid"}', 'not json']);
            await new GraphTokenSource(new ManagedIdentityCredential(), `${graphResource}/.default`).getToken().catch((err: unknown) => {
                errors.push(ensureError(err).message);
            });
            const recover = setTimeout(() => identity.setFault('none'), 3_000);
            await drainAll(graph.baseUrl);
            clearTimeout(recover);
            expect(graph.entities().size).toBe(10);

            // 2. 401s (a Graph expecting another audience), then 403s, each for a while; then the normal Graph drains it all.
            await send(valid(5_100, 5));
            await run(graphWrongAudience.baseUrl, AbortSignal.timeout(1_500));
            graph.setFaults({ mode: 'forbidden' });
            await run(graph.baseUrl, AbortSignal.timeout(1_500));
            graph.setFaults({});
            await drainAll(graph.baseUrl);
            expect(graph.entities().size).toBe(15);

            // 3. Graph answers 400 and echoes the Authorization header and other secrets in its error message.
            await send(valid(5_200, 3));
            await drainAll(echo.baseUrl);
        } finally {
            for (const spy of spies) spy.mockRestore();
        }
        expect(settledCount()).toBe(0);
        const dead = serviceBus.deadLetters(queue);
        const reasons = dead.map((d) => d.deadLetterReason).sort();
        expect(reasons).toEqual(['GraphRejected', 'GraphRejected', 'GraphRejected', 'MalformedBody', 'SchemaViolation']);
        expect(logLines.some((l) => l.includes('GraphUnauthorized'))).toBe(true);
        expect(logLines.some((l) => l.includes('GraphForbidden'))).toBe(true);
        // The identity outage shows as retried writes with the identity's own code (the token wait is bounded by
        // GRAPH_TIMEOUT_MS) and as the direct request's error.
        expect(identity.requests.filter((r) => r.status === 500).length).toBeGreaterThan(0);
        expect(logLines.some((l) => l.includes('"outcome":"retry","reason":"TokenUnavailable"'))).toBe(true);

        // 4. The compiled CLI, in a fresh process (its own token), against the echoing Graph; and with a bad setting.
        await send([...valid(5_300, 2), '{"tenantId": 1}']);
        const drained = await runCli(['worker', '--drain', '--idle-ms', '1000'], { ...workerEnv(echo.baseUrl), LOG_LEVEL: 'debug' });
        expect(drained.code).toBe(0);
        const misconfigured = await runCli(['worker', '--drain'], { ...workerEnv('http://graph.example.com'), LOG_LEVEL: 'debug' });
        expect(misconfigured.code).toBe(78);
        expect(misconfigured.output).toContain('GRAPH_BASE_URL must use https');
        expect(settledCount()).toBe(0);

        // Errors built from secret-bearing text, as the SDKs produce them.
        errors.push(new SettlementError('complete', new Error(`link failed: Endpoint=sb://x/;SharedAccessKey=${sasKey}`)).message);
        try {
            loadWorkerConfig({ ...workerEnv(graph.baseUrl), ServiceBusConnection: `SharedAccessKey=${sasKey};Endpoint=http://x` });
        } catch (err) {
            expect(err).toBeInstanceOf(ConfigurationError);
            errors.push(ensureError(err).message);
        }

        // The real tokens: what msal cached in this process, and every Authorization header the echoing Graph received.
        const cached = (await new ManagedIdentityCredential().getToken(`${graphResource}/.default`)).token;
        const tokens = new Set([cached, ...[...echo.authorizations].map((a) => a.replace(/^Bearer /, ''))]);
        expect(tokens.size).toBeGreaterThanOrEqual(2);
        const secrets = [sasKey, identityHeader, ...[...tokens].flatMap((t) => [t, t.split('.')[1]!, t.split('.')[2]!])];

        const deadLetterText = serviceBus
            .deadLetters(queue)
            .map((d) => `${d.deadLetterErrorDescription ?? ''} ${JSON.stringify(d.applicationProperties)}`);
        const outputs: Record<string, string> = {
            logs: logLines.join('\n'),
            stdoutStderr: written.join(''),
            errors: errors.join('\n'),
            deadLetters: deadLetterText.join('\n'),
            cli: `${drained.output}\n${misconfigured.output}`,
        };
        expect(outputs.errors).toContain('Could not get a token');
        expect(deadLetterText.filter((t) => t.includes('[redacted'))).toHaveLength(5);
        const leaks = Object.entries(outputs).flatMap(([where, text]) =>
            secrets.filter((s) => text.includes(s)).map((s) => `${where}: ${s.slice(0, 12)}…`),
        );
        expect(leaks).toEqual([]);

        // Tokens were only ever requested for Graph's resource.
        expect(identity.requests.length).toBeGreaterThan(0);
        expect(new Set(identity.requests.map((r) => r.query.resource))).toEqual(new Set([graphResource]));
    }, 45_000);
});

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
    const child = spawn(process.execPath, [cli, ...args], {
        cwd,
        env: { PATH: process.env.PATH, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    return new Promise((resolve) => child.once('close', (code) => resolve({ code, output })));
}

describe('Graph address and token audience', () => {
    const base = { COMPLIANCE_QUEUE_NAME: queue };

    it('requires https for GRAPH_BASE_URL, except loopback hosts, where the composition warns graph.insecure_loopback', () => {
        for (const url of ['http://127.0.0.1:5680', 'http://localhost:5680', 'http://[::1]:5680', 'http://127.8.9.10']) {
            const config = loadIngestConfig({ ...base, GRAPH_BASE_URL: url, GRAPH_SCOPE: `${graphResource}/.default` });
            expect(config.graph.insecureLoopback).toBe(true);
            const logger = memoryLogger();
            createWriter(config.graph, logger);
            expect(logger.records.filter((r) => r.event === 'graph.insecure_loopback').map((r) => r.level)).toEqual(['warn']);
        }
        const secure = loadIngestConfig({ ...base, GRAPH_BASE_URL: graphResource });
        const logger = memoryLogger();
        createWriter(secure.graph, logger);
        expect(secure.graph.insecureLoopback).toBe(false);
        expect(logger.records.filter((r) => r.event === 'graph.insecure_loopback')).toEqual([]);

        const refused = ['http://graph.microsoft.com', 'http://localhost.example.com', 'http://127.0.0.1.nip.io', 'http://10.0.0.1'];
        for (const url of [...refused, 'http://0.0.0.0', 'ftp://127.0.0.1']) {
            expect(() => loadIngestConfig({ ...base, GRAPH_BASE_URL: url }), url).toThrow(ConfigurationError);
        }
        expect(() => loadIngestConfig({ ...base, GRAPH_BASE_URL: 'http://graph.microsoft.com' })).toThrow(/GRAPH_BASE_URL must use https/);
        // The composition refuses plain http to a remote host even if handed a config that skipped the checks.
        expect(() => createWriter({ ...secure.graph, baseUrl: 'http://graph.microsoft.com' }, memoryLogger())).toThrow(ConfigurationError);
    });

    it('requests tokens only for the Graph origin: a GRAPH_SCOPE for another origin is refused for an https base URL', () => {
        const scopeOf = (baseUrl: string, scope?: string) =>
            loadIngestConfig({ ...base, GRAPH_BASE_URL: baseUrl, ...(scope ? { GRAPH_SCOPE: scope } : {}) }).graph.scope;
        const otherOrigin = /GRAPH_SCOPE must be for the GRAPH_BASE_URL origin/;
        expect(() => scopeOf(graphResource, 'https://management.azure.com/.default')).toThrow(otherOrigin);
        expect(() => scopeOf('https://graph.microsoft.us', `${graphResource}/.default`)).toThrow(ConfigurationError);
        expect(scopeOf('https://graph.microsoft.us/')).toBe('https://graph.microsoft.us/.default');
        expect(scopeOf(graphResource, `${graphResource}/.default`)).toBe(`${graphResource}/.default`);
    });
});

describe('limits, end to end through the worker', () => {
    it('caps dead-letter descriptions at 1024 characters, and enforces string lengths and the 64 KiB body limit', async () => {
        serviceBus.reset();
        graph.reset();
        const named = (n: number, over: Record<string, unknown>) => JSON.stringify(aggregate(n, undefined, over));
        // 4,000 unknown keys k0…k3999 on a valid aggregate, well under 64 KiB.
        const manyKeys = named(6_000, Object.fromEntries(Array.from({ length: 4_000 }, (_, i) => [`k${i}`, 0])));
        const padTo = (body: string, bytes: number) => `${body.slice(0, -1)}${' '.repeat(bytes - Buffer.byteLength(body))}}`;
        const cases: Record<string, { body: string; verdict: string }> = {
            manyUnknownKeys: { body: manyKeys, verdict: 'SchemaViolation' },
            name256: { body: named(6_001, { tenantDisplayName: 'n'.repeat(256) }), verdict: 'written' },
            name257: { body: named(6_002, { tenantDisplayName: 'n'.repeat(257) }), verdict: 'SchemaViolation' },
            name256Astral: { body: named(6_003, { compliancePolicyName: '🙂'.repeat(256) }), verdict: 'written' },
            label64: { body: named(6_004, { compliancePolicyType: 't'.repeat(64) }), verdict: 'written' },
            label65: { body: named(6_005, { compliancePolicyPlatform: 'p'.repeat(65) }), verdict: 'SchemaViolation' },
            body64KiB: { body: padTo(named(6_006, {}), MAX_BODY_BYTES), verdict: 'written' },
            body64KiBPlusOne: { body: padTo(named(6_007, {}), MAX_BODY_BYTES + 1), verdict: 'MessageTooLarge' },
        };
        expect(Buffer.byteLength(manyKeys)).toBeLessThan(MAX_BODY_BYTES);
        const sender = producer.createSender(queue);
        try {
            const messages = Object.entries(cases).map(([name, c]) => ({ body: Buffer.from(c.body), contentType, messageId: name }));
            await sender.sendMessages(messages);
        } finally {
            await sender.close();
        }
        const drain = { drain: true, idleMs: 800 };
        const totals = await runWorkerCommand(workerEnv(graph.baseUrl), drain, memoryLogger(), AbortSignal.timeout(20_000));
        await until(() => settledCount() === 0, 5_000);

        const dead = serviceBus.deadLetters(queue);
        const verdictOf = (name: string) => dead.find((d) => d.messageId === name)?.deadLetterReason ?? 'written';
        const verdicts = Object.fromEntries(Object.keys(cases).map((name) => [name, verdictOf(name)]));
        expect(verdicts).toEqual(Object.fromEntries(Object.entries(cases).map(([name, c]) => [name, c.verdict])));
        const written = Object.entries(cases).filter(([, c]) => c.verdict === 'written');
        expect(graph.entities().size).toBe(written.length);
        expect(graph.entities().has(idOf(6_001))).toBe(true);
        expect(totals.received).toBe(Object.keys(cases).length);
        for (const d of dead) expect(d.deadLetterErrorDescription?.length ?? 0, d.messageId).toBeLessThanOrEqual(MAX_DESCRIPTION_LENGTH);
        const manyKeysDescription = dead.find((d) => d.messageId === 'manyUnknownKeys')?.deadLetterErrorDescription ?? '';
        expect(manyKeysDescription).toMatch(/\(\+\d+ more\)$/);
    });
});
