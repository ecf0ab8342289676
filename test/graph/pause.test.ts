import { setTimeout as delay } from 'node:timers/promises';

import { afterEach, describe, expect, it } from 'vitest';

import { createBatchEntityWriter } from '../../src/graph/batch-writer';
import { createGraphClient } from '../../src/graph/client';
import { ThrottleGate } from '../../src/graph/pause';
import { createEntityWriter } from '../../src/graph/writer';
import { memoryLogger } from '../../src/log';
import { entity } from './entity-fixture';
import { reply, replyError, type ScriptedServer, startScriptedServer } from './scripted-server';

const open = () => new AbortController().signal;

describe('Retry-After pause', () => {
    it('holds callers until the pause ends, and a longer pause set meanwhile extends the wait', async () => {
        let clock = 0;
        const slept: number[] = [];
        const pause = new ThrottleGate({
            now: () => clock,
            sleep: (ms: number) => {
                slept.push(ms);
                clock += ms;
                if (slept.length === 1) pause.pause(500, 'GraphThrottled');
                return Promise.resolve();
            },
        });
        pause.pause(200, 'GraphThrottled');

        expect(await pause.wait(10_000, open())).toBeUndefined();
        expect(slept).toEqual([200, 500]);
        expect(pause.pausedUntil).toBe(0);
    });

    it('answers at once with the remaining wait when the pause outlasts the deadline', async () => {
        const clock = 1_000;
        const pause = new ThrottleGate({ now: () => clock, sleep: () => Promise.reject(new Error('must not sleep')) });
        pause.pause(30_000, 'GraphUnavailable');

        expect(await pause.wait(clock + 5_000, open())).toEqual({ errorCode: 'GraphUnavailable', retryAfterMs: 30_000 });
        expect(pause.pausedUntil).toBe(31_000);
    });

    it('keeps the longer of two pauses and caps absurd values', () => {
        const pause = new ThrottleGate({ now: () => 0, maxPauseMs: 60_000 });
        pause.pause(5_000, 'GraphThrottled');
        pause.pause(1_000, 'GraphUnavailable');
        expect(pause.pausedUntil).toBe(5_000);
        pause.pause(10 * 3_600_000, 'GraphThrottled');
        expect(pause.pausedUntil).toBe(60_000);
    });

    it('does not wait when nothing paused it', async () => {
        const pause = new ThrottleGate({ sleep: () => Promise.reject(new Error('must not sleep')) });
        expect(await pause.wait(Date.now() + 1_000, open())).toBeUndefined();
    });
});

describe('pacing after throttling', () => {
    it('paces writes at 90 % of what Graph accepted in the last second, and speeds up again while no 429 comes', async () => {
        let clock = 10_000;
        const slept: number[] = [];
        const gate = new ThrottleGate({
            now: () => clock,
            sleep: (ms: number) => {
                slept.push(ms);
                clock += ms;
                return Promise.resolve();
            },
        });
        expect(gate.writesPerSecond).toBeUndefined();
        gate.accept(200);
        gate.throttled();
        expect(gate.writesPerSecond).toBe(180);

        // Two batches of 18 writes: the second may start 100 ms (18 / 180 s) after the first.
        expect(await gate.wait(clock + 10_000, open(), 18)).toBeUndefined();
        expect(await gate.wait(clock + 10_000, open(), 18)).toBeUndefined();
        expect(slept).toEqual([100]);

        clock += 10_000;
        expect(gate.writesPerSecond).toBeGreaterThan(180);
        clock += 60_000;
        expect(gate.writesPerSecond).toBeUndefined();
    });

    it('does not pace an instance that had written too little to measure a rate', () => {
        const gate = new ThrottleGate({ now: () => 0 });
        gate.accept(3);
        gate.throttled();
        expect(gate.writesPerSecond).toBeUndefined();
    });
});

describe('Retry-After pause shared by every request of a writer', () => {
    let server: ScriptedServer | undefined;
    afterEach(async () => {
        await server?.close();
        server = undefined;
    });

    it.each([
        ['single requests', createEntityWriter],
        ['$batch requests', createBatchEntityWriter],
    ])('a 429 with Retry-After on one of the %s holds every other request of the instance', async (_label, create) => {
        const arrivals: number[] = [];
        let throttledAt = 0;
        const graph = await startScriptedServer((req, res) => {
            arrivals.push(Date.now());
            const created = (body: unknown) => (req.path.endsWith('$batch') ? batchCreated(body) : body);
            if (req.seq === 1) {
                throttledAt = Date.now();
                if (req.path.endsWith('$batch')) {
                    const [first] = (req.body as { requests: { id: string }[] }).requests;
                    reply(res, 200, { responses: [{ id: first!.id, status: 429, headers: { 'Retry-After': '0.3' }, body: throttled }] });
                } else {
                    replyError(res, 429, 'TooManyRequests', 'slow down', { 'Retry-After': '0.3' });
                }
                return;
            }
            reply(res, req.path.endsWith('$batch') ? 200 : 201, created(req.body));
        });
        server = graph;
        const logger = memoryLogger();
        const client = createGraphClient({
            config: { baseUrl: graph.url, apiVersion: 'beta', timeoutMs: 2_000, insecureLoopback: true },
            tokens: { getToken: () => Promise.resolve('t') },
            logger,
        });
        const writer = create({ client, logger, maxConcurrency: 4, retryBudgetMs: 2_000 });
        const deadline = () => ({ deadlineAt: Date.now() + 10_000 });

        expect(writer.pausedUntil).toBe(0);
        const first = writer.write([entity(0)], deadline());
        while (throttledAt === 0) await delay(5);
        await delay(20);
        // Hosts read this to stop receiving while Graph asked for quiet.
        expect(writer.pausedUntil).toBeGreaterThan(Date.now());
        const others = await Promise.all([1, 2, 3].map((n) => writer.write([entity(n)], deadline())));
        const outcomes = [await first, ...others];

        expect(outcomes.every((o) => [...o.values()].every((x) => x.kind === 'complete'))).toBe(true);
        // Every request after the 429 arrived once the pause (300 ms, less a little clock slack) was over.
        expect(arrivals.slice(1).filter((at) => at < throttledAt + 280)).toEqual([]);
        expect(arrivals.length).toBeGreaterThanOrEqual(2);
    });
});

const throttled = { error: { code: 'TooManyRequests', message: 'slow down' } };

/** Answer every sub-request of a `$batch` body with 201 and its own body. */
function batchCreated(body: unknown) {
    const { requests } = body as { requests: { id: string; body: unknown }[] };
    return { responses: requests.map((r) => ({ id: r.id, status: 201, headers: {}, body: r.body })) };
}
