import { readFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

const env = vi.hoisted(() => {
    // Valid settings must be in place before the registration module loads them.
    const settings = {
        GRAPH_BASE_URL: 'http://127.0.0.1:1',
        COMPLIANCE_QUEUE_NAME: 'compliance-aggregates',
        INGEST_BATCH_BUDGET_MS: '12345',
        ServiceBusConnection: 'Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;',
    };
    Object.assign(process.env, settings);
    return settings;
});

import '../../../functions/ingest';

import { loadIngestConfig } from '../../../src/config';
import type { AggregatedPolicyCompliance } from '../../../src/entity';
import type { EntityWriter, WriteOutcome } from '../../../src/graph/writer';
import { createIngestHandler, invocationLogs } from '../../../src/hosts/functions/handler';
import { seedPlaceholderAggregate } from '../../contract/aggregate-factory';
import { registrations } from '../../setup/functions-core-stub';
import {
    type DeliveryFacts,
    type HostLogLine,
    invokeAsHost,
    pointExtensionAt,
    type SentMessage,
    type SettlementCall,
    type SettlementServer,
    startSettlementServer,
} from './host-double';

const NOW = Date.parse('2026-12-01T08:00:00Z');

const sampleLines = readFileSync(path.join(__dirname, '../../../samples/aggregates.ndjson'), 'utf8').trim().split('\n');
/** A valid aggregate from the samples, with its own policy id so each message maps to its own entity. */
function aggregate(n: number): string {
    const a = JSON.parse(sampleLines[0]!) as Record<string, unknown>;
    return JSON.stringify({ ...a, compliancePolicyId: `9f2753bf-24fd-4467-abd9-${n.toString(16).padStart(12, '0')}` });
}

const seedPlaceholderBody = JSON.stringify(seedPlaceholderAggregate);

const lock = (n: number) => `6c3b9a40-0d1e-4f7a-9c55-${n.toString(16).padStart(12, '0')}`;
const sent = (n: number, body: string, contentType = 'application/json'): SentMessage => ({
    lockToken: lock(n),
    messageId: `msg-${n}`,
    body,
    contentType,
});
const facts = (deliveryCount: number, n = 1): DeliveryFacts => ({
    deliveryCount,
    sequenceNumber: 100 + n,
    enqueuedTimeUtc: '2026-12-01T07:59:00Z',
});
const retryWith =
    (errorCode: string): Script =>
    (e) => ({ kind: 'retry', errorCode, description: errorCode, systemic: false, entityId: e.id });
const retryCodeOrReason = (c: SettlementCall) => c.deadletterReason ?? c.properties?.['ci-last-error-code'];

type Script = (entity: AggregatedPolicyCompliance) => WriteOutcome;
const created: Script = (e) => ({ kind: 'complete', write: 'created', entityId: e.id, graphRequestId: 'req-1' });

function fakeWriter(script: Script = created) {
    const calls: { ids: string[]; deadlineAt: number }[] = [];
    const writer: EntityWriter = {
        write(entities, options) {
            calls.push({ ids: entities.map((e) => e.id), deadlineAt: options.deadlineAt });
            invocationLogs.log('info', 'graph.write', { count: entities.length });
            return Promise.resolve(new Map(entities.map((e) => [e.id, script(e)])));
        },
    };
    return { writer, calls };
}

let server: SettlementServer;
let restoreArgv: () => void;
let registration: (typeof registrations)[number];

beforeAll(async () => {
    registration = registrations.find((r) => r.metadata.name === 'ingest')!;
    server = await startSettlementServer();
    restoreArgv = pointExtensionAt(server.port);
});

afterAll(async () => {
    restoreArgv();
    await server.close();
});

beforeEach(() => {
    server.calls.length = 0;
});

async function run(messages: SentMessage[], deliveryCounts: number[], script?: Script) {
    const { writer, calls } = fakeWriter(script);
    const handler = createIngestHandler({ config: loadIngestConfig(env), writer, now: () => NOW, hostname: 'test-host' });
    const result = await invokeAsHost(registration, handler, {
        messages,
        facts: deliveryCounts.map((d, i) => facts(d, i)),
        invocationId: 'inv-42',
    });
    // `hostLevel` is the level the host saw; `level` is ours, inside the JSON line.
    const records = result.logs.map((l: HostLogLine): Record<string, unknown> => ({
        hostLevel: l.level,
        ...(JSON.parse(l.message) as object),
    }));
    return { ...result, records, writes: calls };
}

describe('the Functions ingest handler, invoked as the host does', () => {
    it('completes a valid aggregate', async () => {
        const { error, writes } = await run([sent(1, aggregate(1))], [1]);
        expect(error).toBeUndefined();
        expect(writes).toHaveLength(1);
        expect(server.calls).toEqual([{ method: 'complete', locktoken: lock(1) }]);
    });

    it("dead-letters the seed's placeholder body as SchemaViolation, naming the bad fields", async () => {
        const { writes } = await run([sent(2, seedPlaceholderBody)], [2]);
        expect(writes).toEqual([]);
        expect(server.calls).toHaveLength(1);
        const [call] = server.calls;
        expect(call).toMatchObject({ method: 'deadletter', locktoken: lock(2), deadletterReason: 'SchemaViolation' });
        for (const field of ['tenantId', 'compliancePolicyId', 'numberOfCompliantDevices', 'policyModifiedDateTime']) {
            expect(call!.deadletterErrorDescription).toContain(field);
        }
        expect(call!.properties).toMatchObject({
            errorCode: 'SchemaViolation',
            attempt: 2,
            deadLetteredAt: '2026-12-01T08:00:00.000Z',
            host: 'test-host',
            function: 'ingest',
        });
    });

    it('dead-letters a body that is not JSON as MalformedBody', async () => {
        await run([sent(3, 'tenantId=1f59f5c5;count=4', 'text/plain')], [1]);
        expect(server.calls).toEqual([
            expect.objectContaining({
                method: 'deadletter',
                locktoken: lock(3),
                deadletterReason: 'MalformedBody',
                properties: expect.objectContaining({ attempt: 1 }),
            }),
        ]);
        expect(server.calls[0]!.deadletterErrorDescription).toMatch(/not valid JSON/);
    });

    it('abandons when the writer asks for a retry', async () => {
        await run([sent(4, aggregate(4))], [3], retryWith('GraphThrottled'));
        expect(server.calls).toEqual([{ method: 'abandon', locktoken: lock(4), properties: { 'ci-last-error-code': 'GraphThrottled' } }]);
    });

    it('dead-letters with GraphRejected when Graph rejects the entity', async () => {
        await run([sent(5, aggregate(5))], [1], (e) => ({
            kind: 'deadLetter',
            reason: 'GraphRejected',
            description: 'Graph answered 400 BadRequest: numberOfErrorDevices out of range',
            properties: { errorCode: 'GraphBadRequest', graphStatus: 400, graphRequestId: 'req-5' },
            entityId: e.id,
        }));
        expect(server.calls).toEqual([
            {
                method: 'deadletter',
                locktoken: lock(5),
                deadletterReason: 'GraphRejected',
                deadletterErrorDescription: 'Graph answered 400 BadRequest: numberOfErrorDevices out of range',
                properties: expect.objectContaining({
                    errorCode: 'GraphBadRequest',
                    graphStatus: 400,
                    graphRequestId: 'req-5',
                    attempt: 1,
                }),
            },
        ]);
    });

    it('settles a mixed batch of five message by message, logging one line per outcome', async () => {
        const batch = [
            sent(10, aggregate(10)),
            sent(11, seedPlaceholderBody),
            sent(12, '{"oops"'),
            sent(13, aggregate(13)),
            sent(14, aggregate(14)),
        ];
        // Policy ids end in the message number in hex: 13 is the one Graph cannot take right now.
        const script: Script = (e) => (e.compliancePolicyId.endsWith('d') ? retryWith('GraphUnavailable')(e) : created(e));
        const { records, error } = await run(batch, [1, 1, 2, 1, 4], script);
        expect(error).toBeUndefined();
        const byLock = Object.fromEntries(server.calls.map((c) => [c.locktoken, [c.method, retryCodeOrReason(c)]]));
        expect(server.calls).toHaveLength(5);
        expect(byLock).toEqual({
            [lock(10)]: ['complete', undefined],
            [lock(11)]: ['deadletter', 'SchemaViolation'],
            [lock(12)]: ['deadletter', 'MalformedBody'],
            [lock(13)]: ['abandon', 'GraphUnavailable'],
            [lock(14)]: ['complete', undefined],
        });
        const settled = records.filter((r) => r.event === 'message.settled');
        expect(settled).toHaveLength(5);
        const correlation = { invocationId: 'inv-42', functionName: 'ingest', host: 'test-host', function: 'ingest' };
        for (const r of settled) expect(r).toMatchObject(correlation);
        const line = (messageId: string) => settled.find((r) => r.messageId === messageId);
        expect(line('msg-10')).toMatchObject({ hostLevel: 'information', level: 'info', outcome: 'complete', deliveryCount: 0 });
        expect(line('msg-14')).toMatchObject({ outcome: 'complete', deliveryCount: 3 });
        expect(line('msg-13')).toMatchObject({ hostLevel: 'warning', outcome: 'retry', reason: 'GraphUnavailable' });
        expect(records.find((r) => r.event === 'batch.settled')).toMatchObject({
            received: 5,
            completed: 2,
            retried: 1,
            deadLettered: { SchemaViolation: 1, MalformedBody: 1 },
        });
    });

    it("routes the writer's own log lines into the invocation", async () => {
        const { records } = await run([sent(15, aggregate(15))], [1]);
        expect(records.find((r) => r.event === 'graph.write')).toMatchObject({ invocationId: 'inv-42', count: 1 });
    });

    it('does not throw when the host fails one settlement, and logs it', async () => {
        server.failFor(lock(21));
        const { error, records } = await run([sent(20, aggregate(20)), sent(21, aggregate(21))], [1, 1]);
        expect(error).toBeUndefined();
        expect(server.calls.map((c) => [c.method, c.locktoken]).sort()).toEqual([
            ['complete', lock(20)],
            ['complete', lock(21)],
        ]);
        const event = (name: string) => records.find((r) => r.event === name);
        expect(event('settlement.failed')).toMatchObject({ hostLevel: 'error', messageId: 'msg-21', outcome: 'complete' });
        expect(event('batch.settled')).toMatchObject({ hostLevel: 'warning', completed: 1, settlementFailures: 1 });
    });

    it('gives the writer a deadline of now + INGEST_BATCH_BUDGET_MS', async () => {
        const { writes } = await run([sent(30, aggregate(30))], [1]);
        expect(writes.map((w) => w.deadlineAt)).toEqual([NOW + 12_345]);
    });

    it('hands the whole batch back and fails the invocation when the pipeline itself breaks', async () => {
        const broken: EntityWriter = { write: () => Promise.reject(new Error('writer defect')) };
        const handler = createIngestHandler({ config: loadIngestConfig(env), writer: broken, now: () => NOW });
        const { error, logs } = await invokeAsHost(registration, handler, {
            messages: [sent(40, aggregate(40)), sent(41, aggregate(41))],
            facts: [facts(1), facts(1)],
        });
        expect(error).toBeInstanceOf(Error);
        expect(server.calls.map((c) => [c.method, c.locktoken, c.properties?.['ci-last-error-code']]).sort()).toEqual([
            ['abandon', lock(40), 'BatchFailed'],
            ['abandon', lock(41), 'BatchFailed'],
        ]);
        expect(logs.some((l) => l.level === 'error' && l.message.includes('"batch.failed"'))).toBe(true);
    });
});
