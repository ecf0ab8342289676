import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { aggregate, queue, startStack, type Stack } from './stack';

const cli = join(__dirname, '../../dist/src/cli/main.js');
let stack: Stack;
// An empty working directory, so the child never picks up a developer's local.settings.json.
const cwd = mkdtempSync(join(tmpdir(), 'ci-worker-'));

beforeAll(async () => {
    stack = await startStack({ queue: { lockDurationMs: 1_500 } });
});
afterAll(async () => {
    await stack.close();
});
beforeEach(() => {
    stack.serviceBus.reset();
    stack.graph.reset();
});

function worker(args: string[]): ChildProcess & { stdoutText: () => string } {
    const child = spawn(process.execPath, [cli, 'worker', ...args], {
        cwd,
        env: { PATH: process.env.PATH, ...stack.env, IDENTITY_ENDPOINT: stack.identity.endpoint, IDENTITY_HEADER: stack.identity.header },
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.resume();
    return Object.assign(child, { stdoutText: () => out });
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > end) throw new Error('condition not met in time');
        await new Promise((r) => setTimeout(r, 50));
    }
}

describe('worker process', () => {
    it('loses nothing and writes nothing twice when killed mid-batch and restarted', async () => {
        const n = 60;
        await stack.send(Array.from({ length: n }, (_, i) => JSON.stringify(aggregate(600 + i))));
        stack.graph.setFaults({ latencyMs: 100 });
        const first = worker(['--batch-size', '20', '--loops', '2']);
        await until(() => stack.graph.entities().size >= 5);
        first.kill('SIGKILL');
        await exited(first);
        expect(stack.graph.entities().size).toBeLessThan(n);

        stack.graph.setFaults({});
        const second = worker(['--drain', '--idle-ms', '2500']);
        expect(await exited(second)).toBe(0);

        expect(stack.graph.entities().size).toBe(n);
        expect(stack.graph.stats().byStatus['201']).toBe(n);
        expect(stack.graph.stats().byKind.patch ?? 0).toBe(0);
        expect(stack.serviceBus.counts(queue)).toMatchObject({ active: 0, locked: 0, scheduled: 0, deadLettered: 0 });
    });

    it('--drain exits 0 with a summary of what it did', async () => {
        await stack.send([JSON.stringify(aggregate(700)), JSON.stringify(aggregate(701)), '{"not": "an aggregate"}', 'not json']);
        const child = worker(['--drain', '--idle-ms', '1000']);
        expect(await exited(child)).toBe(0);
        const summary = JSON.parse(child.stdoutText().trim().split('\n').pop()!) as { summary: Record<string, unknown> };
        expect(summary.summary).toMatchObject({ received: 4, completed: 2, deadLettered: { SchemaViolation: 1, MalformedBody: 1 }, retried: 0 });
    });

    it('stops gracefully on SIGTERM, leaving nothing locked', async () => {
        await stack.send(Array.from({ length: 40 }, (_, i) => JSON.stringify(aggregate(800 + i))));
        stack.graph.setFaults({ latencyMs: 100 });
        const child = worker(['--batch-size', '10', '--loops', '1']);
        await until(() => stack.graph.entities().size >= 3);
        child.kill('SIGTERM');
        expect(await exited(child)).toBe(0);
        const counts = stack.serviceBus.counts(queue);
        expect(counts.locked).toBe(0);
        expect(counts.active + stack.graph.entities().size).toBe(40);
        stack.graph.setFaults({});
    });
});
