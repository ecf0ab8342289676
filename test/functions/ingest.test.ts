import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import type { ConfigurationError } from '../../src/errors';
import { pointExtensionAt, type SettlementServer, startSettlementServer, invokeAsHost } from '../hosts/functions/host-double';
import { registrations } from '../setup/functions-core-stub';

const settingNames = ['GRAPH_BASE_URL', 'GRAPH_API_VERSION', 'COMPLIANCE_QUEUE_NAME', 'ServiceBusConnection'] as const;
// The trigger's own connection also carries delayed-retry copies; nothing connects until a retry happens.
const serviceBus = 'Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;';
const saved = Object.fromEntries(settingNames.map((k) => [k, process.env[k]]));

function setEnv(values: Partial<Record<(typeof settingNames)[number], string>>) {
    for (const k of settingNames) {
        if (values[k] === undefined) delete process.env[k];
        else process.env[k] = values[k];
    }
}

/** Load the registration module afresh, as the worker does at app start. */
async function startApp(): Promise<void> {
    vi.resetModules();
    await import('../../functions/ingest.js');
}

const ingest = () => registrations.filter((r) => r.metadata.name === 'ingest');

let server: SettlementServer;
let restoreArgv: () => void;

beforeAll(async () => {
    server = await startSettlementServer();
    restoreArgv = pointExtensionAt(server.port);
});

afterAll(async () => {
    restoreArgv();
    await server.close();
    setEnv(saved);
});

describe('functions/ingest registration', () => {
    it('fails at app start with one ConfigurationError listing every bad setting, registering nothing', async () => {
        setEnv({ GRAPH_BASE_URL: 'http://example.com', GRAPH_API_VERSION: 'v2', ServiceBusConnection: serviceBus });
        const failure: unknown = await startApp().then(
            () => undefined,
            (err: unknown) => err,
        );
        // A fresh module graph has its own ConfigurationError class, so match on what it carries.
        expect(failure).toMatchObject({ name: 'ConfigurationError', code: 'ConfigurationError' });
        const issues = (failure as ConfigurationError).issues;
        expect(issues).toHaveLength(2);
        expect(issues.join('\n')).toMatch(/GRAPH_BASE_URL must use https/);
        expect(issues.join('\n')).toMatch(/GRAPH_API_VERSION must be 'v1.0' or 'beta'/);
        expect(ingest()).toEqual([]);
    });

});

describe('functions/ingest with valid settings', () => {
    beforeAll(async () => {
        setEnv({ GRAPH_BASE_URL: 'http://127.0.0.1:1', COMPLIANCE_QUEUE_NAME: 'compliance-aggregates', ServiceBusConnection: serviceBus });
        await startApp();
    });

    it('registers a batch Service Bus trigger with SDK binding and explicit settlement', () => {
        expect(ingest()).toHaveLength(1);
        const bindings = Object.values(ingest()[0]!.metadata.bindings);
        expect(bindings).toHaveLength(1);
        expect(bindings[0]).toMatchObject({
            type: 'serviceBusTrigger',
            direction: 'in',
            queueName: '%COMPLIANCE_QUEUE_NAME%',
            connection: 'ServiceBusConnection',
            cardinality: 'many',
            sdkBinding: true,
            autoCompleteMessages: false,
            properties: { supportsDeferredBinding: 'true' },
        });
        expect(bindings[0]!.name).toMatch(/^serviceBusTrigger/);
    });

    it('settles through the registered handler, with the app as composed at start', async () => {
        const [registration] = ingest();
        const lockA = '0f7e4a52-96c1-4f1a-8d2c-3f0d1b2a4c5e';
        const lockB = '5b1e7c3d-2a4f-4e6b-9c8d-7a6b5c4d3e2f';
        const { error } = await invokeAsHost(registration!, registration!.callback, {
            messages: [
                { lockToken: lockA, messageId: 'a', body: JSON.stringify({ tenantId: 'String' }), contentType: 'application/json' },
                { lockToken: lockB, messageId: 'b', body: '<aggregate/>', contentType: 'application/xml' },
            ],
            facts: [
                { deliveryCount: 1, sequenceNumber: 1, enqueuedTimeUtc: '2026-12-01T00:00:00Z' },
                { deliveryCount: 1, sequenceNumber: 2, enqueuedTimeUtc: '2026-12-01T00:00:00Z' },
            ],
        });
        expect(error).toBeUndefined();
        expect(server.calls.map((c) => [c.method, c.locktoken, c.deadletterReason]).sort()).toEqual([
            ['deadletter', lockA, 'SchemaViolation'],
            ['deadletter', lockB, 'MalformedBody'],
        ]);
    });
});
