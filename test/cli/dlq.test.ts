import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { runDlqList, runDlqPurge, runDlqReplay, runDlqShow } from '../../src/cli/dlq';
import { startServiceBusEmulator, type ServiceBusEmulator } from '../../src/emulators/servicebus';
import { seedDeadLetters } from '../dlq/fixtures';
import { aggregate, drain, expectedMessageId, testIo } from '../publish/fixtures';

const queue = 'compliance-aggregates';
let emulator: ServiceBusEmulator;

beforeAll(async () => {
    emulator = await startServiceBusEmulator({ queues: [{ name: queue }] });
});

afterAll(async () => {
    await emulator.close();
});

beforeEach(async () => {
    emulator.reset();
    await seedDeadLetters(emulator.connectionString, queue, [
        { i: 1, reason: 'SchemaViolation', at: '2026-01-01T00:00:00Z' },
        { i: 2, reason: 'GraphRejected', at: '2026-03-01T00:00:00Z' },
        { i: 3, reason: 'SchemaViolation', at: '2026-03-02T00:00:00Z' },
    ]);
});

const io = (stdin?: string) => testIo(emulator.connectionString, queue, stdin);
const tenantOf = (i: number) => aggregate(i).tenantId as string;

describe('dlq list', () => {
    it('prints a table with reason, a short description, tenant and policy', async () => {
        const { io: commandIo, stdout } = io();
        expect(await runDlqList({}, commandIo)).toBe(0);
        const lines = stdout.text.trimEnd().split('\n');
        expect(lines[0]).toMatch(/^SEQUENCE\s+ENQUEUED \(UTC\)\s+REASON\s+DESCRIPTION\s+TENANT\s+POLICY$/);
        expect(lines).toHaveLength(4);
        expect(lines[1]).toContain('SchemaViolation');
        expect(lines[1]).toContain(tenantOf(1));
        expect(lines[1]).toContain(`aggregate 1 failed: ${'a long explanation '.repeat(3).slice(0, 39)}…`);
    });

    it('filters by reason, tenant and time, and writes JSON or NDJSON', async () => {
        const byReason = io();
        await runDlqList({ reason: 'SchemaViolation', output: 'json' }, byReason.io);
        const entries = JSON.parse(byReason.stdout.text);
        expect(entries.map((e: { messageId: string }) => e.messageId)).toEqual([expectedMessageId(1), expectedMessageId(3)]);
        expect(entries[0]).toMatchObject({ reason: 'SchemaViolation', tenantId: tenantOf(1), applicationProperties: { errorCode: 'SchemaViolation' } });

        const byTenant = io();
        await runDlqList({ tenant: tenantOf(2).toUpperCase(), output: 'ndjson' }, byTenant.io);
        expect(byTenant.stdout.text.trim().split('\n').map((l) => (JSON.parse(l) as { messageId: string }).messageId)).toEqual([expectedMessageId(2)]);

        const bySince = io();
        await runDlqList({ since: new Date('2026-02-01T00:00:00Z'), max: 1, output: 'ndjson' }, bySince.io);
        expect(bySince.stdout.text.trim().split('\n').map((l) => (JSON.parse(l) as { messageId: string }).messageId)).toEqual([expectedMessageId(2)]);

        const none = io();
        await runDlqList({ reason: 'RetriesExhausted' }, none.io);
        expect(none.stdout.text).toBe(`no dead-lettered messages match in ${queue}\n`);
    });
});

describe('dlq show', () => {
    it('prints one message in full, never the connection string', async () => {
        const listed = io();
        await runDlqList({ output: 'json' }, listed.io);
        const sequenceNumber = JSON.parse(listed.stdout.text)[1].sequenceNumber as string;
        const { io: commandIo, stdout } = io();
        expect(await runDlqShow(sequenceNumber, commandIo)).toBe(0);
        expect(stdout.text).toContain(`sequence number:  ${sequenceNumber}`);
        expect(stdout.text).toContain(`message id:       ${expectedMessageId(2)}`);
        expect(stdout.text).toContain('reason:           GraphRejected');
        expect(stdout.text).toContain(`description:      aggregate 2 failed: ${'a long explanation '.repeat(5)}`);
        expect(stdout.text).toContain('  deadLetteredAt: 2026-03-01T00:00:00Z');
        expect(stdout.text).toContain(JSON.stringify(aggregate(2), null, 2));
        expect(stdout.text).not.toMatch(/SharedAccessKey|Endpoint=/);

        const missing = io();
        expect(await runDlqShow('999999', missing.io)).toBe(1);
        expect(missing.stderr.text).toContain('no dead-lettered message with sequence number 999999');
    });
});

describe('dlq replay', () => {
    it('a dry run changes nothing', async () => {
        const { io: commandIo, stderr } = io();
        expect(await runDlqReplay({ reason: 'SchemaViolation', dryRun: true }, commandIo)).toBe(0);
        expect(stderr.text).toBe(`dry run: would replay 2 messages from the ${queue} DLQ\n`);
        expect(emulator.counts(queue)).toMatchObject({ active: 0, deadLettered: 3 });
    });

    it('copies matching messages back with a replay id, the same body, replayCount 1, and empties them from the DLQ', async () => {
        const { io: commandIo, stderr } = io();
        expect(await runDlqReplay({ reason: 'SchemaViolation' }, commandIo, { maxWaitTimeInMs: 300 })).toBe(0);
        expect(stderr.text).toMatch(new RegExp(`^replayed 2 messages from the ${queue} DLQ to ${queue} in [\\d.]+ s\\n$`));
        expect(emulator.deadLetters(queue).map((m) => m.messageId)).toEqual([expectedMessageId(2)]);
        const replayed = await drain(emulator.connectionString, queue);
        expect(replayed.map((m) => m.messageId)).toEqual([`${expectedMessageId(1)}#replay1`, `${expectedMessageId(3)}#replay1`]);
        expect(replayed[0]!.applicationProperties).toMatchObject({ originalMessageId: expectedMessageId(1) });
        expect((replayed[0]!.body as Buffer).toString()).toBe(JSON.stringify(aggregate(1)));
        expect(replayed[0]!.contentType).toBe('application/json');
        expect(replayed[0]!.applicationProperties).toMatchObject({ replayCount: 1, originalDeadLetterReason: 'SchemaViolation', errorCode: 'SchemaViolation' });
        expect(replayed[0]!.applicationProperties).not.toHaveProperty('DeadLetterReason');
        expect(replayed[0]!.deadLetterReason).toBeUndefined();

        // The untouched message was abandoned back to the DLQ and can be replayed in its turn.
        expect(await runDlqReplay({}, io().io, { maxWaitTimeInMs: 300 })).toBe(0);
        expect(emulator.counts(queue)).toMatchObject({ active: 1, deadLettered: 0 });
    });
});

describe('dlq purge', () => {
    it('refuses without --yes off a terminal, asks on one, and deletes only what matches', async () => {
        const refused = io();
        expect(await runDlqPurge({}, refused.io)).toBe(1);
        expect(refused.stderr.text).toContain('refusing to purge without --yes');

        const declined = io();
        const questions: string[] = [];
        const terminal = { ...declined.io, stdin: Object.assign(declined.io.stdin, { isTTY: true }), confirm: (q: string) => Promise.resolve(questions.push(q) < 0) };
        Object.assign(declined.stderr, { isTTY: true });
        expect(await runDlqPurge({ reason: 'GraphRejected' }, terminal)).toBe(1);
        expect(questions).toEqual([`Delete the dead-lettered messages matching the filters of ${queue} for good? [y/N] `]);

        const filtered = io();
        expect(await runDlqPurge({ reason: 'SchemaViolation', yes: true }, filtered.io)).toBe(0);
        expect(filtered.stdout.text).toBe(`purged 2 messages from the ${queue} DLQ\n`);
        expect(emulator.deadLetters(queue).map((m) => m.messageId)).toEqual([expectedMessageId(2)]);

        const all = io();
        expect(await runDlqPurge({ yes: true }, all.io)).toBe(0);
        expect(all.stdout.text).toBe(`purged 1 messages from the ${queue} DLQ\n`);
        expect(emulator.counts(queue).deadLettered).toBe(0);
    });

    it('exits 2 when Service Bus cannot be reached', async () => {
        const unreachable = testIo(emulator.connectionString.replace(/:\d+;/, ':1;'), queue);
        expect(await runDlqList({}, unreachable.io)).toBe(2);
        expect(unreachable.stderr.text).toMatch(/^Service Bus operation failed: /);
    });
});
