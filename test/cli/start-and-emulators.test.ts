import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ServiceBusClient } from '@azure/service-bus';
import { describe, expect, it } from 'vitest';

const cli = join(__dirname, '../../dist/src/cli/main.js');

/** Run the compiled CLI in an empty directory with no Azure settings at all. */
function run(args: string[], cwd = mkdtempSync(join(tmpdir(), 'ci-cli-'))): ChildProcess & { out: () => string; cwd: string } {
    const child = spawn(process.execPath, [cli, ...args], { cwd, env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.resume();
    return Object.assign(child, { out: () => out, cwd });
}

async function until(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > end) throw new Error('condition not met in time');
        await new Promise((r) => setTimeout(r, 50));
    }
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

describe('compliance-ingest start', () => {
    it('runs the samples end to end on embedded stand-ins, then stops cleanly on Ctrl-C', async () => {
        const child = run(['start']);
        await until(() => child.out().includes('Ctrl-C stops.'));
        const out = child.out();
        expect(out).toContain('No Service Bus configured: running on embedded local stand-ins.');
        expect(out).toContain('Published 32 sample aggregates');
        expect(out).toMatch(/24 entities written to the Graph stand-in \(27 messages completed\)/);
        expect(out).toMatch(/ {2}5 dead-lettered:/);
        expect(out.match(/ {4}SchemaViolation: /g)).toHaveLength(5);
        child.kill('SIGINT');
        expect(await exited(child)).toBe(0);
    });
});

describe('compliance-ingest emulators', () => {
    it('prints what a client needs first, and serves a separate @azure/service-bus client', async () => {
        const child = run(['emulators', '--servicebus-port', '0', '--graph-port', '0', '--identity-port', '0', '--write-local-settings']);
        await until(() => child.out().includes('\n'));
        const info = JSON.parse(child.out().split('\n')[0]!) as {
            serviceBus: { connectionString: string; queues: string[] };
            graph: { baseUrl: string };
            identity: { endpoint: string; header: string };
        };
        expect(info.serviceBus.queues).toEqual(['compliance-aggregates']);
        expect(info.serviceBus.connectionString).toMatch(/^Endpoint=sb:\/\/localhost:\d+;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;$/);
        expect(info.graph.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        expect(info.identity.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/msi\/token$/);

        await until(() => child.out().includes('for func start'));
        const settings = JSON.parse(readFileSync(join(child.cwd, 'local.settings.json'), 'utf8')) as { Values: Record<string, string> };
        expect(settings.Values).toMatchObject({ FUNCTIONS_WORKER_RUNTIME: 'node', AzureWebJobsStorage: 'UseDevelopmentStorage=true', ServiceBusConnection: info.serviceBus.connectionString, GRAPH_BASE_URL: info.graph.baseUrl });

        const client = new ServiceBusClient(info.serviceBus.connectionString);
        try {
            await client.createSender('compliance-aggregates').sendMessages({ body: { hello: 'world' }, messageId: 'm-1' });
            const receiver = client.createReceiver('compliance-aggregates');
            const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
            await receiver.deadLetterMessage(message!, { deadLetterReason: 'SchemaViolation', deadLetterErrorDescription: 'hello: unknown property' });
            const dlq = client.createReceiver('compliance-aggregates', { subQueueType: 'deadLetter' });
            const [dead] = await dlq.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
            expect(dead).toMatchObject({ messageId: 'm-1', deadLetterReason: 'SchemaViolation', deadLetterErrorDescription: 'hello: unknown property' });
        } finally {
            await client.close();
        }
        child.kill('SIGINT');
        expect(await exited(child)).toBe(0);
    });
});
