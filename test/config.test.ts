import { describe, expect, it } from 'vitest';

import { hasServiceBusSettings, loadIngestConfig, loadWorkerConfig, requiredDeployedSettings, settingNames } from '../src/config';
import { ConfigurationError } from '../src/errors';

const sb = { ServiceBusConnection: 'Endpoint=sb://localhost:5672;SharedAccessKeyName=k;SharedAccessKey=x;UseDevelopmentEmulator=true;' };

function problemsOf(fn: () => unknown): readonly string[] {
    try {
        fn();
    } catch (err) {
        expect(err).toBeInstanceOf(ConfigurationError);
        return (err as ConfigurationError).issues;
    }
    throw new Error('expected a ConfigurationError');
}

describe('loadIngestConfig', () => {
    it('applies the documented defaults', () => {
        const c = loadIngestConfig({});
        expect(c.queueName).toBe('compliance-aggregates');
        expect(c.graph).toMatchObject({
            baseUrl: 'https://graph.microsoft.com',
            apiVersion: 'v1.0',
            scope: 'https://graph.microsoft.com/.default',
            credential: 'managedidentity',
            insecureLoopback: false,
        });
        expect(c.graph.clientId).toBeUndefined();
        expect(c.batchBudgetMs).toBe(45_000);
    });

    it('derives the scope from the base URL origin, keeping a path prefix out of it', () => {
        const c = loadIngestConfig({ GRAPH_BASE_URL: 'https://graph.microsoft.us/proxy/', GRAPH_API_VERSION: 'beta' });
        expect(c.graph.baseUrl).toBe('https://graph.microsoft.us/proxy');
        expect(c.graph.scope).toBe('https://graph.microsoft.us/.default');
        expect(c.graph.apiVersion).toBe('beta');
    });

    it('takes an explicit scope and a lower-cased client id', () => {
        const c = loadIngestConfig({ GRAPH_BASE_URL: 'https://example.org', GRAPH_SCOPE: 'https://example.org/.default', AZURE_CLIENT_ID: 'AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE' });
        expect(c.graph.scope).toBe('https://example.org/.default');
        expect(c.graph.clientId).toBe('aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee');
    });

    it('allows plain http only for loopback stand-ins', () => {
        expect(loadIngestConfig({ GRAPH_BASE_URL: 'http://127.0.0.1:5680' }).graph.insecureLoopback).toBe(true);
        expect(loadIngestConfig({ GRAPH_BASE_URL: 'http://localhost:5680' }).graph.insecureLoopback).toBe(true);
        expect(problemsOf(() => loadIngestConfig({ GRAPH_BASE_URL: 'http://graph.example.com' }))).toEqual([
            expect.stringContaining('must use https'),
        ]);
    });

    it('lists every bad setting in one error', () => {
        const problems = problemsOf(() =>
            loadIngestConfig({
                GRAPH_BASE_URL: 'not a url',
                GRAPH_API_VERSION: 'v2',
                GRAPH_CREDENTIAL: 'password',
                AZURE_CLIENT_ID: 'nope',
                GRAPH_TIMEOUT_MS: '12abc',
                GRAPH_MAX_CONCURRENCY: '0',
                GRAPH_SCOPE: 'http://insecure/.default',
            }),
        );
        expect(problems).toHaveLength(7);
        for (const name of ['GRAPH_BASE_URL', 'GRAPH_API_VERSION', 'GRAPH_CREDENTIAL', 'AZURE_CLIENT_ID', 'GRAPH_TIMEOUT_MS', 'GRAPH_MAX_CONCURRENCY', 'GRAPH_SCOPE']) {
            expect(problems.some((p) => p.includes(name))).toBe(true);
        }
    });

    it('never echoes a setting value in its problems', () => {
        const problems = problemsOf(() => loadIngestConfig({ GRAPH_SCOPE: 'SharedAccessKey=topsecret' }));
        expect(problems.join(' ')).not.toContain('topsecret');
    });
});

describe('loadWorkerConfig', () => {
    it('accepts a connection string', () => {
        expect(loadWorkerConfig(sb).serviceBus).toEqual({ kind: 'connectionString', connectionString: sb.ServiceBusConnection });
    });

    it('accepts the identity-based trio', () => {
        const c = loadWorkerConfig({
            ServiceBusConnection__fullyQualifiedNamespace: 'ns1.servicebus.windows.net',
            ServiceBusConnection__credential: 'managedidentity',
            ServiceBusConnection__clientId: '11111111-2222-4333-8444-555555555555',
        });
        expect(c.serviceBus).toEqual({ kind: 'identity', fullyQualifiedNamespace: 'ns1.servicebus.windows.net', clientId: '11111111-2222-4333-8444-555555555555' });
    });

    it('reports a namespace given where a connection string belongs', () => {
        expect(problemsOf(() => loadWorkerConfig({ ServiceBusConnection: 'ns1.servicebus.windows.net' }))).toEqual([
            expect.stringContaining("must be a connection string starting with 'Endpoint=sb://'"),
        ]);
    });

    it('reports Service Bus and Graph problems together', () => {
        const problems = problemsOf(() => loadWorkerConfig({ GRAPH_API_VERSION: 'v9' }));
        expect(problems).toHaveLength(2);
        expect(problems.join('\n')).toMatch(/no Service Bus configured/);
    });

    it('rejects both forms at once and a bad identity trio', () => {
        expect(problemsOf(() => loadWorkerConfig({ ...sb, ServiceBusConnection__fullyQualifiedNamespace: 'ns.servicebus.windows.net' }))).toHaveLength(1);
        expect(
            problemsOf(() =>
                loadWorkerConfig({
                    ServiceBusConnection__fullyQualifiedNamespace: 'not a host',
                    ServiceBusConnection__credential: 'secret',
                    ServiceBusConnection__clientId: 'x',
                }),
            ),
        ).toHaveLength(3);
    });
});

describe('settings', () => {
    it('knows whether Service Bus is configured', () => {
        expect(hasServiceBusSettings({})).toBe(false);
        expect(hasServiceBusSettings(sb)).toBe(true);
        expect(hasServiceBusSettings({ ServiceBusConnection__fullyQualifiedNamespace: 'x.servicebus.windows.net' })).toBe(true);
    });

    it('lists the deployed settings by their real names', () => {
        expect(requiredDeployedSettings).toContain(settingNames.serviceBusNamespace);
        expect(new Set(requiredDeployedSettings).size).toBe(requiredDeployedSettings.length);
    });
});

describe('token scope', () => {
    it('refuses a scope for another origin than the Graph base URL', () => {
        expect(problemsOf(() => loadIngestConfig({ GRAPH_BASE_URL: 'https://graph.example.org', GRAPH_SCOPE: 'https://graph.microsoft.com/.default' }))).toEqual([
            expect.stringContaining('must be for the GRAPH_BASE_URL origin'),
        ]);
    });

    it("lets loopback stand-ins ask for Graph's own audience", () => {
        const c = loadIngestConfig({ GRAPH_BASE_URL: 'http://127.0.0.1:5680', GRAPH_SCOPE: 'https://graph.microsoft.com/.default' });
        expect(c.graph.scope).toBe('https://graph.microsoft.com/.default');
    });
});
