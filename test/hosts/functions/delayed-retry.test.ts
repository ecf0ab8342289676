import { readFileSync } from 'node:fs';
import path from 'node:path';

import { ServiceBusClient } from '@azure/service-bus';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
    process.env.GRAPH_BASE_URL = 'http://127.0.0.1:1';
    process.env.ServiceBusConnection = 'Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;';
});

import '../../../functions/ingest';

import { loadIngestConfig } from '../../../src/config';
import { startServiceBusEmulator, type ServiceBusEmulator } from '../../../src/emulators/servicebus';
import type { EntityWriter } from '../../../src/graph/writer';
import { createIngestHandler } from '../../../src/hosts/functions/handler';
import type { Rescheduler } from '../../../src/recoverability/delayed-retry';
import { retryProperty } from '../../../src/recoverability/retry-policy';
import { registrations } from '../../setup/functions-core-stub';
import { invokeAsHost, pointExtensionAt, type SentMessage, type SettlementServer, startSettlementServer } from './host-double';

const queue = 'compliance-aggregates';
const body = readFileSync(path.join(__dirname, '../../../samples/aggregates.ndjson'), 'utf8').split('\n')[0]!;
const lock = '6c3b9a40-0d1e-4f7a-9c55-000000000001';
const message: SentMessage = { lockToken: lock, messageId: 'msg-1', body, contentType: 'application/json', applicationProperties: { source: 'refresh-job' } };
const facts = { deliveryCount: 1, sequenceNumber: 7, enqueuedTimeUtc: '2026-12-01T07:59:00Z' };

// Graph keeps throttling: every write comes back as a retry.
const throttled: EntityWriter = {
    write: (entities) =>
        Promise.resolve(new Map(entities.map((e) => [e.id, { kind: 'retry', errorCode: 'GraphThrottled', description: '429', systemic: false, graphStatus: 429, entityId: e.id } as const]))),
};

let emulator: ServiceBusEmulator;
let client: ServiceBusClient;
let server: SettlementServer;
let restoreArgv: () => void;
const registration = () => registrations.find((r) => r.metadata.name === 'ingest')!;

beforeAll(async () => {
    emulator = await startServiceBusEmulator({ queues: [{ name: queue }] });
    client = new ServiceBusClient(emulator.connectionString);
    server = await startSettlementServer();
    restoreArgv = pointExtensionAt(server.port);
});
afterAll(async () => {
    restoreArgv();
    await server.close();
    await client.close();
    await emulator.close();
});
beforeEach(() => {
    server.calls.length = 0;
    emulator.reset();
});

function handlerWith(rescheduler: Rescheduler, env: Record<string, string> = {}) {
    const config = loadIngestConfig({ GRAPH_BASE_URL: 'http://127.0.0.1:1', RETRY_BASE_DELAY_MS: '60000', ...env });
    return createIngestHandler({ config, writer: throttled, rescheduler, now: Date.now, hostname: 'test-host' });
}

describe('Functions host delayed retries', () => {
    it('schedules a copy with attempt bookkeeping through a real sender, then completes the original', async () => {
        const sender = client.createSender(queue);
        const { error } = await invokeAsHost(registration(), handlerWith(sender), { messages: [message], facts: [facts] });
        expect(error).toBeUndefined();
        expect(server.calls.map((c) => [c.method, c.locktoken])).toEqual([['complete', lock]]);
        expect(emulator.counts(queue)).toMatchObject({ scheduled: 1, active: 0 });

        const [copy] = await client.createReceiver(queue).peekMessages(1);
        expect(copy!.messageId).toBe('msg-1#r1');
        expect(copy!.body).toEqual(JSON.parse(body));
        expect(copy!.applicationProperties).toMatchObject({
            source: 'refresh-job',
            [retryProperty.attempt]: 1,
            [retryProperty.lastErrorCode]: 'GraphThrottled',
            [retryProperty.originalMessageId]: 'msg-1',
            [retryProperty.originalEnqueuedAt]: '2026-12-01T07:59:00.000Z',
        });
        expect(copy!.scheduledEnqueueTimeUtc!.getTime()).toBeGreaterThan(Date.now() + 30_000);
        await sender.close();
    });

    it('abandons instead when the copy cannot be scheduled, so nothing is lost', async () => {
        const failing: Rescheduler = { scheduleMessages: () => Promise.reject(new Error('Unauthorized: Send claim required')) };
        await invokeAsHost(registration(), handlerWith(failing), { messages: [message], facts: [facts] });
        expect(server.calls.map((c) => [c.method, c.locktoken, c.properties?.[retryProperty.lastErrorCode]])).toEqual([['abandon', lock, 'GraphThrottled']]);
    });

    it('dead-letters RetriesExhausted with the history once the budget is spent', async () => {
        const spent: SentMessage = { ...message, applicationProperties: { [retryProperty.attempt]: 2, [retryProperty.history]: '1@t1:GraphThrottled(429);2@t2:GraphThrottled(429)' } };
        const sender = client.createSender(queue);
        await invokeAsHost(registration(), handlerWith(sender, { RETRY_MAX_ATTEMPTS: '3' }), { messages: [spent], facts: [{ ...facts, deliveryCount: 1 }] });
        await sender.close();
        const [call] = server.calls;
        expect(call).toMatchObject({ method: 'deadletter', locktoken: lock, deadletterReason: 'RetriesExhausted' });
        expect(call!.deadletterErrorDescription).toMatch(/^Retries exhausted after 3 attempts\. Last error GraphThrottled: 429\. History: 1@t1:GraphThrottled\(429\);2@t2:GraphThrottled\(429\);3@/);
        expect(call!.properties).toMatchObject({ errorCode: 'GraphThrottled', attempt: 3, host: 'test-host', function: 'ingest' });
        expect(emulator.counts(queue).scheduled).toBe(0);
    });
});
