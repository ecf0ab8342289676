import { ServiceBusClient } from '@azure/service-bus';
import { afterAll, beforeAll, expect, it } from 'vitest';

import { clientOptions } from '../../src/servicebus';
import { aggregate, idOf, queue, startStack, type Stack } from '../e2e/stack';
import { startWorkerProcess } from '../hardening/scenarios';
import { quantile, reportFigures, until, watchStores } from '../hardening/traffic';

/** LOAD_MESSAGES and LOAD_RATE (offered msg/s; 0 sends as fast as the producer can) override the defaults. */
const MESSAGES = Number(process.env.LOAD_MESSAGES ?? 100_000);
const RATE = Number(process.env.LOAD_RATE ?? 3_000);
const CHUNK = 200;
const FIRST_KEY = 3_000_000;

let stack: Stack;
beforeAll(async () => {
    stack = await startStack();
});
afterAll(async () => {
    await stack.close();
});

it(`writes ${MESSAGES} messages, each exactly once, with nothing dead-lettered or left behind`, async () => {
    // Each message is its own entity, and its lastRefreshedDateTime is the time its chunk was handed to the sender:
    // the stand-in's store insert minus that time is the enqueue-to-write latency, both read from this process's clock.
    const latencies = new Float64Array(MESSAGES);
    let stored = 0;
    let lastStoredAt = 0;
    const unwatch = watchStores(stack.graph, (_id, entity) => {
        lastStoredAt = Date.now();
        if (stored < MESSAGES) latencies[stored] = lastStoredAt - Date.parse(entity.lastRefreshedDateTime);
        stored++;
    });
    // 25 ms per Graph request, as in the benchmark: a loopback Graph that answers at once hides the worker's batching.
    stack.graph.setFaults({ latencyMs: 25 });
    const worker = startWorkerProcess({ ...stack.env, IDENTITY_ENDPOINT: stack.identity.endpoint, IDENTITY_HEADER: stack.identity.header });
    // The worker's retry settings: with the SDK's defaults a send caught by a dropped connection waits 30 s per retry.
    const client = new ServiceBusClient(stack.serviceBus.connectionString, clientOptions);
    const sender = client.createSender(queue);
    let totals;
    let memory;
    const startMemory = await worker.memory();
    const started = Date.now();
    try {
        for (let i = 0; i < MESSAGES; i += CHUNK) {
            const due = started + (i / RATE) * 1000;
            if (RATE > 0 && due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
            const sentAt = new Date().toISOString();
            const keys = Array.from({ length: Math.min(CHUNK, MESSAGES - i) }, (_, k) => FIRST_KEY + i + k);
            const body = (key: number) => Buffer.from(JSON.stringify(aggregate(key, sentAt)));
            await sender.sendMessages(keys.map((key) => ({ body: body(key), contentType: 'application/json' })));
        }
        const sentSeconds = (Date.now() - started) / 1000;
        await until(() => {
            const c = stack.serviceBus.counts(queue);
            return stored >= MESSAGES && c.active + c.locked + c.scheduled === 0;
        }, 30 * 60_000);
        memory = await worker.memory();
        totals = await worker.stop();
        const seconds = (lastStoredAt - started) / 1000;
        const stats = stack.graph.stats();
        reportFigures('load', {
            messages: MESSAGES,
            offeredPerSecond: RATE || 'unpaced',
            sendSeconds: Math.round(sentSeconds * 10) / 10,
            seconds: Math.round(seconds * 10) / 10,
            throughputPerSecond: Math.round(MESSAGES / seconds),
            latencyMs: { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), max: quantile(latencies, 1) },
            workerRssMb: { start: startMemory.rssMb, peak: memory.maxRssMb, end: memory.rssMb },
            workerHeapAfterGcMb: { start: startMemory.heapUsedMb, end: memory.heapUsedMb },
            worker: {
                received: totals.received, completed: totals.completed, retried: totals.retried,
                settlementFailures: totals.settlementFailures,
            },
            graph: { requests: stats.requests, ...stats.byStatus },
            problems: worker.problems.map((line) => /"event":"([^"]+)"/.exec(line)?.[1] ?? line.slice(0, 80)),
        });
    } finally {
        unwatch();
        await sender.close();
        await client.close();
        if (!totals) await worker.stop().catch(() => undefined);
    }

    const ids = new Set(Array.from({ length: MESSAGES }, (_, k) => idOf(FIRST_KEY + k)));
    expect(new Set(stack.graph.entities().keys())).toEqual(ids);
    expect(stack.graph.stats().byStatus['201']).toBe(MESSAGES);
    expect(stack.serviceBus.deadLetters(queue)).toEqual([]);
    expect(stack.serviceBus.counts(queue)).toMatchObject({ active: 0, locked: 0, scheduled: 0, deadLettered: 0 });
    expect(totals.completed).toBe(MESSAGES);
});
