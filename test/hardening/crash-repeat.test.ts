import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { queue, startStack, type Stack } from '../e2e/stack';
import { sendAll } from './scenarios';
import { expectSettled, faultSuiteEnv, mixedTraffic, reportFigures, until } from './traffic';

const cli = join(__dirname, '../../dist/src/cli/main.js');
// An empty working directory, so the child never picks up a developer's local.settings.json.
const cwd = mkdtempSync(join(tmpdir(), 'ci-crash-'));
const KILLS = 4;

let stack: Stack;
beforeAll(async () => {
    // A short lock, so deliveries a killed worker held come back quickly.
    stack = await startStack({ queue: { lockDurationMs: 1_500 }, env: faultSuiteEnv });
});
afterAll(async () => {
    await stack.close();
});

function worker(args: string[]): ChildProcess {
    const child = spawn(process.execPath, [cli, 'worker', ...args], {
        cwd,
        env: { PATH: process.env.PATH, ...stack.env, IDENTITY_ENDPOINT: stack.identity.endpoint, IDENTITY_HEADER: stack.identity.header },
        stdio: ['ignore', 'ignore', 'ignore'],
    });
    return child;
}

const exited = (child: ChildProcess) =>
    new Promise<number | null>((resolve) => {
        if (child.exitCode !== null) resolve(child.exitCode);
        else child.once('exit', (code) => resolve(code));
    });

it(`loses and doubles nothing when the worker is SIGKILLed mid-batch ${KILLS} times`, async () => {
    const traffic = mixedTraffic(400, { firstKey: 300_000, invalidEvery: 50 });
    await sendAll(stack, traffic.bodies);
    // Graph latency keeps each batch in flight long enough for a kill to land in the middle of one.
    stack.graph.setFaults({ latencyMs: 150 });
    const storedAtKill: number[] = [];
    const lockedAtKill: number[] = [];
    try {
        for (let kill = 1; kill <= KILLS; kill++) {
            const before = stack.graph.entities().size;
            const child = worker(['--batch-size', '20', '--loops', '2']);
            await until(() => stack.graph.entities().size >= before + 15, 20_000);
            child.kill('SIGKILL');
            await exited(child);
            storedAtKill.push(stack.graph.entities().size);
            lockedAtKill.push(stack.serviceBus.counts(queue).locked);
        }
    } finally {
        stack.graph.setFaults({});
    }
    expect(storedAtKill.at(-1)).toBeLessThan(traffic.newest.size);
    // Every kill caught deliveries the victim had received and not yet settled.
    expect(lockedAtKill.every((n) => n > 0)).toBe(true);
    // Locked deliveries of the last victim come back within the lock; a drain outlasts it, and repeats if it must.
    let drains = 0;
    for (;;) {
        drains++;
        expect(await exited(worker(['--drain', '--idle-ms', '2500']))).toBe(0);
        const c = stack.serviceBus.counts(queue);
        if (c.active + c.locked + c.scheduled === 0 || drains === 3) break;
    }
    const stats = stack.graph.stats();
    reportFigures('worker SIGKILL x4 (fast)', {
        messages: traffic.bodies.length,
        storedAtKill,
        lockedAtKill,
        drains,
        graph: { requests: stats.requests, ...stats.byStatus },
    });
    expectSettled(traffic, stack.graph, stack.serviceBus);
}, 60_000);
