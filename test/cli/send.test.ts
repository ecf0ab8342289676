import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { registerSendCommand, runSend } from '../../src/cli/send';
import { startServiceBusEmulator, type ServiceBusEmulator } from '../../src/emulators/servicebus';
import { aggregate, drain, expectedMessageId, testIo } from '../publish/fixtures';

const run = promisify(execFile);
let emulator: ServiceBusEmulator;
let dir: string;
let queueNumber = 0;

/** Each test gets its own queue so tests never see each other's messages. */
function nextQueue(): string {
    const name = `send-${++queueNumber}`;
    emulator.declareQueue(name);
    return name;
}

const ndjson = (items: unknown[]) => `${items.map((i) => JSON.stringify(i)).join('\n')}\n`;

beforeAll(async () => {
    emulator = await startServiceBusEmulator({
        maxMessageSizeBytes: 8_192,
        queues: [{ name: 'dedup', properties: { requiresDuplicateDetection: true, duplicateDetectionHistoryTimeWindowMs: 60_000 } }, { name: 'cli' }],
    });
    dir = await mkdtemp(join(tmpdir(), 'send-test-'));
});

afterAll(async () => {
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
}

describe('send', () => {
    it('sends a JSON array as given, with deterministic message ids and the JSON content type', async () => {
        const queue = nextQueue();
        const input = await file('a.json', JSON.stringify([aggregate(1), aggregate(2, { tenantDisplayName: 'A {brace} "quoted" ] name' })], null, 2));
        const { io, stderr } = testIo(emulator.connectionString, queue);
        expect(await runSend(input, { strict: true }, io)).toBe(0);
        expect(stderr.text).toMatch(/^sent 2 messages in 1 batches \(\d+ msg\/s\); invalid: 0\n$/);
        const messages = await drain(emulator.connectionString, queue);
        expect(messages.map((m) => m.messageId)).toEqual([expectedMessageId(1), expectedMessageId(2)]);
        expect(messages[0]!.contentType).toBe('application/json');
        expect(JSON.parse((messages[1]!.body as Buffer).toString())).toEqual(aggregate(2, { tenantDisplayName: 'A {brace} "quoted" ] name' }));
    });

    it('sends NDJSON from stdin, normalising the message id but not the body', async () => {
        const queue = nextQueue();
        const upper = aggregate(3, { tenantId: (aggregate(3).tenantId as string).toUpperCase(), lastRefreshedDateTime: '2026-12-01T02:10:33.4452876+02:00' });
        const { io } = testIo(emulator.connectionString, queue, [JSON.stringify(upper).slice(0, 20), `${JSON.stringify(upper).slice(20)}\n\n`]);
        expect(await runSend('-', { strict: true }, io)).toBe(0);
        const [message] = await drain(emulator.connectionString, queue);
        expect(message!.messageId).toBe(expectedMessageId(3));
        expect((message!.body as Buffer).toString()).toBe(JSON.stringify(upper));
    });

    it('sends CSV with quoted commas, digit-string counts and optional columns left empty', async () => {
        const queue = nextQueue();
        const a = aggregate(4);
        const header = [...Object.keys(a), 'id'].join(',');
        const row = Object.values(a).map((v) => (String(v).includes(',') ? `"${String(v)}"` : String(v))).join(',');
        const input = await file('a.csv', `${header}\r\n${row},\r\n`);
        const { io } = testIo(emulator.connectionString, queue);
        expect(await runSend(input, { strict: true }, io)).toBe(0);
        const [message] = await drain(emulator.connectionString, queue);
        expect(message!.messageId).toBe(expectedMessageId(4));
        const body = JSON.parse((message!.body as Buffer).toString());
        expect(body.compliancePolicyName).toBe('Baseline, policy 4');
        expect(body.numberOfCompliantDevices).toBe('4');
        expect(body).not.toHaveProperty('id');
    });

    it('strict mode lists invalid lines with reasons and sends nothing', async () => {
        const queue = nextQueue();
        const lines = [aggregate(1), aggregate(2, { numberOfErrorDevices: -1 }), aggregate(3)].map((a) => JSON.stringify(a));
        const input = await file('strict.ndjson', `${lines[0]}\n${lines[1]}\n{not json\n${lines[2]}\n`);
        const { io, stderr } = testIo(emulator.connectionString, queue);
        expect(await runSend(input, { strict: true }, io)).toBe(1);
        expect(stderr.text).toContain('2 of 4 records are invalid; nothing was sent');
        expect(stderr.text).toContain('line 2: SchemaViolation: numberOfErrorDevices');
        expect(stderr.text).toContain('line 3: MalformedBody');
        expect(emulator.counts(queue).active).toBe(0);
    });

    it('strict mode lists the first 50 problems, then a count', async () => {
        const input = await file('many.json', JSON.stringify(Array.from({ length: 60 }, () => ({}))));
        const { io, stderr } = testIo(emulator.connectionString, nextQueue());
        expect(await runSend(input, { strict: true }, io)).toBe(1);
        expect(stderr.text).toContain('record 50: SchemaViolation');
        expect(stderr.text).not.toContain('record 51:');
        expect(stderr.text).toContain('… and 10 more');
    });

    it('--skip-invalid sends the valid records and writes the others to the reject file', async () => {
        const queue = nextQueue();
        const input = await file('skip.ndjson', ndjson([aggregate(1), { tenantId: 'nope' }, aggregate(2)]));
        const { io, stderr } = testIo(emulator.connectionString, queue);
        expect(await runSend(input, { strict: false }, io)).toBe(0);
        expect(stderr.text).toContain(`sent 2 messages in 1 batches`);
        expect(stderr.text).toContain(`invalid: 1; rejected file: ${input}.rejects.ndjson`);
        const rejects: unknown[] = readFileSync(`${input}.rejects.ndjson`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown);
        expect(rejects).toEqual([{ line: 2, reason: 'SchemaViolation', description: expect.stringContaining('tenantId'), record: { tenantId: 'nope' } }]);
        expect(emulator.counts(queue).active).toBe(2);
        await drain(emulator.connectionString, queue);
    });

    it('a re-sent file is dropped by duplicate detection', async () => {
        const input = await file('dup.ndjson', ndjson([aggregate(1), aggregate(2)]));
        for (let i = 0; i < 2; i++) expect(await runSend(input, { strict: true }, testIo(emulator.connectionString, 'dedup').io)).toBe(0);
        expect(emulator.counts('dedup').active).toBe(2);
        await drain(emulator.connectionString, 'dedup');
    });

    it('splits batches at the size limit and reports a message too large for any batch', async () => {
        const queue = nextQueue();
        const items = Array.from({ length: 60 }, (_, i) => aggregate(i, { tenantDisplayName: `Tenant ${i} ${'x'.repeat(200)}` }));
        items.push(aggregate(99, { compliancePolicyName: 'y'.repeat(250), tenantDisplayName: 'z'.repeat(250), id: undefined }));
        const huge = { ...aggregate(100), tenantDisplayName: 'w'.repeat(256), compliancePolicyName: 'v'.repeat(256) };
        const input = await file('big.json', JSON.stringify([...items, { ...huge, padding: undefined }]).replace(/"w{256}"/, `"${'w'.repeat(256)}"${' '.repeat(9_000)}`));
        const { io, stderr } = testIo(emulator.connectionString, queue);
        expect(await runSend(input, { strict: false, rejectFile: join(dir, 'big.rejects') }, io)).toBe(1);
        const batches = Number(/in (\d+) batches/.exec(stderr.text)![1]);
        expect(batches).toBeGreaterThan(2);
        expect(stderr.text).toContain('sent 61 messages');
        expect(stderr.text).toContain('too large: 1');
        expect(stderr.text).toMatch(/record 62: MessageTooLarge/);
        expect((await drain(emulator.connectionString, queue)).length).toBe(61);
    });

    it('--scheduled-at schedules every message', async () => {
        const queue = nextQueue();
        const input = await file('sched.ndjson', ndjson([aggregate(1), aggregate(2)]));
        const at = new Date(Date.now() + 60_000);
        expect(await runSend(input, { strict: true, scheduledAt: at }, testIo(emulator.connectionString, queue).io)).toBe(0);
        expect(emulator.counts(queue)).toMatchObject({ active: 0, scheduled: 2 });
    });

    it('exits 1 for an unreadable input and 2 when Service Bus cannot be reached, reporting partial progress', async () => {
        const missing = testIo(emulator.connectionString, nextQueue());
        expect(await runSend(join(dir, 'missing.json'), { strict: true }, missing.io)).toBe(1);
        expect(missing.stderr.text).toContain('cannot read');

        const truncated = testIo(emulator.connectionString, nextQueue());
        expect(await runSend(await file('trunc.json', `[${JSON.stringify(aggregate(1))},`), { strict: true }, truncated.io)).toBe(1);
        expect(truncated.stderr.text).toContain('not closed');

        const closedPort = await new Promise<number>((resolve) => {
            const server = createServer().listen(0, '127.0.0.1', () => {
                const { port } = server.address() as { port: number };
                server.close(() => resolve(port));
            });
        });
        const unreachable = testIo(emulator.connectionString.replace(/:\d+;/, `:${closedPort};`), 'q');
        const input = await file('ok.ndjson', ndjson([aggregate(1), aggregate(2)]));
        expect(await runSend(input, { strict: true }, unreachable.io)).toBe(2);
        expect(unreachable.stderr.text).toMatch(/^sent 0 of 2 before the failure: /);
        expect(unreachable.stderr.text).not.toContain('SAS_KEY_VALUE');
    });

    it('parses its options through commander and sets the exit code', async () => {
        const queue = nextQueue();
        const input = await file('cmd.txt', `${Object.keys(aggregate(1)).join(',')}\n${Object.values(aggregate(1)).map((v) => `"${String(v)}"`).join(',')}\n`);
        const { io, codes } = testIo(emulator.connectionString, queue);
        const program = new Command().exitOverride();
        registerSendCommand(program, () => io);
        await program.parseAsync(['node', 'compliance-ingest', 'send', input, '--format', 'csv', '--skip-invalid', '--scheduled-at', '2030-01-01T00:00:00Z']);
        expect(codes).toEqual([0]);
        expect(existsSync(`${input}.rejects.ndjson`)).toBe(false);
        expect(emulator.counts(queue).scheduled).toBe(1);
        await expect(program.parseAsync(['node', 'compliance-ingest', 'send', input, '--scheduled-at', 'tomorrow'])).rejects.toThrow(/ISO 8601/);
        await expect(program.parseAsync(['node', 'compliance-ingest', 'send', input, '--strict', '--skip-invalid'])).rejects.toThrow(/cannot be used with/);
    });
});

describe('compiled CLI', () => {
    beforeAll(() => {
        expect(existsSync(join(__dirname, '../../dist/src/cli/main.js'))).toBe(true);
    });

    it('exits 0 when everything is sent and 1 for invalid input', async () => {
        const cli = join(__dirname, '../../dist/src/cli/main.js');
        const env = { ...process.env, ServiceBusConnection: emulator.connectionString, COMPLIANCE_QUEUE_NAME: 'cli' };
        const ok = await run('node', [cli, 'send', await file('cli.ndjson', ndjson([aggregate(1)]))], { env, cwd: dir });
        expect(ok.stderr).toContain('sent 1 messages in 1 batches');
        const bad = run('node', [cli, 'send', await file('cli-bad.ndjson', ndjson([{}]))], { env, cwd: dir });
        await expect(bad).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('1 of 1 records are invalid') });
        expect(emulator.counts('cli').active).toBe(1);
    }, 30_000);
});
