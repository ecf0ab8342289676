import { ServiceBusClient } from '@azure/service-bus';
import { afterAll, beforeAll, it } from 'vitest';

import { clientOptions } from '../../src/servicebus';
import { aggregate, idOf, queue, startStack, type Stack } from '../e2e/stack';
import { startWorkerProcess, type WorkerMemory } from '../hardening/scenarios';
import { expectSettled, faultSuiteEnv, quantile, reportFigures, until, watchStores, type Traffic } from '../hardening/traffic';

/** SOAK_MINUTES (default 30) of steady traffic; `npm run soak` sets it. */
const MINUTES = Number(process.env.SOAK_MINUTES ?? 30);
const RATE = 200;
const TICK_MS = 100;
/** Entities cycle, so the Graph store stays bounded and most writes are updates (409 → GET → PATCH), as in steady state. */
const ENTITIES = 2_000;
const FIRST_KEY = 4_000_000;
const INVALID_EVERY = 500;
const BROKER_DROP_EVERY_MS = 60_000;

let stack: Stack;
beforeAll(async () => {
    stack = await startStack({ env: faultSuiteEnv });
});
afterAll(async () => {
    await stack.close();
});

it(`loses nothing over ${MINUTES} minutes of ${RATE} msg/s with mild faults, and its memory stays flat`, async () => {
    const newest = new Map<string, { refreshed: string; compliant: number }>();
    const invalid = new Set<string>();
    const latencies: number[] = [];
    const unwatch = watchStores(stack.graph, (_id, entity) => latencies.push(Date.now() - Date.parse(entity.lastRefreshedDateTime)));
    // A few % of 5xx and of dropped Graph connections, and the broker dropping every client socket once a minute.
    stack.graph.setFaults({ latencyMs: 10, errorRate: 0.03, dropConnectionRate: 0.01, seed: 31 });
    const worker = startWorkerProcess({ ...stack.env, IDENTITY_ENDPOINT: stack.identity.endpoint, IDENTITY_HEADER: stack.identity.header });
    // The worker's retry settings: with the SDK's defaults a send caught by a dropped connection waits 30 s per retry.
    const client = new ServiceBusClient(stack.serviceBus.connectionString, clientOptions);
    const sender = client.createSender(queue);
    const memory: Record<string, WorkerMemory> = {};
    const durationMs = MINUTES * 60_000;
    let sent = 0;
    let brokerDrops = 0;
    let totals;
    const started = Date.now();
    try {
        for (let tick = 0; Date.now() - started < durationMs; tick++) {
            const due = started + tick * TICK_MS;
            if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
            const elapsed = Date.now() - started;
            if (!memory.start && elapsed >= Math.min(30_000, durationMs / 4)) memory.start = await worker.memory();
            if (!memory.middle && elapsed >= durationMs / 2) memory.middle = await worker.memory();
            if (elapsed >= (brokerDrops + 1) * BROKER_DROP_EVERY_MS) {
                brokerDrops++;
                stack.serviceBus.dropConnections();
            }
            const sentAt = new Date().toISOString();
            const bodies: string[] = [];
            for (let k = 0; k < (RATE * TICK_MS) / 1000; k++, sent++) {
                if (sent % INVALID_EVERY === INVALID_EVERY - 1) {
                    const body = JSON.stringify({ tenantId: `soak-invalid-${sent}` });
                    invalid.add(body);
                    bodies.push(body);
                    continue;
                }
                const key = FIRST_KEY + (sent % ENTITIES);
                bodies.push(JSON.stringify(aggregate(key, sentAt, { numberOfCompliantDevices: sent })));
                newest.set(idOf(key), { refreshed: sentAt, compliant: sent });
            }
            // The producer retries a send the dropped connection failed, as a real producer would.
            for (let attempt = 1; ; attempt++) {
                try {
                    await sender.sendMessages(bodies.map((b) => ({ body: Buffer.from(b), contentType: 'application/json' })));
                    break;
                } catch (err) {
                    if (attempt >= 5) throw err;
                }
            }
        }
        const sendingSeconds = (Date.now() - started) / 1000;
        const settledFrom = Date.now();
        await until(() => {
            const c = stack.serviceBus.counts(queue);
            return c.active + c.locked + c.scheduled === 0 && stack.serviceBus.deadLetters(queue).length >= invalid.size;
        }, 5 * 60_000);
        memory.end = await worker.memory();
        const stopFrom = Date.now();
        totals = await worker.stop();
        const stopSeconds = (Date.now() - stopFrom) / 1000;
        const stats = stack.graph.stats();
        reportFigures('soak', {
            minutes: MINUTES,
            sent,
            entities: newest.size,
            invalid: invalid.size,
            sendingSeconds: Math.round(sendingSeconds),
            settleSecondsAfterLastSend: Math.round((Date.now() - settledFrom) / 100) / 10,
            stopSeconds,
            brokerDrops,
            latencyMs: { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), max: quantile(latencies, 1) },
            workerMemoryMb: Object.fromEntries(
                Object.entries(memory).map(([at, m]) => [at, { rss: m.rssMb, heapAfterGc: m.heapUsedMb, peakRss: m.maxRssMb }]),
            ),
            worker: {
                received: totals.received,
                completed: totals.completed,
                retried: totals.retried,
                settlementFailures: totals.settlementFailures,
                deadLettered: totals.deadLettered,
            },
            graph: { requests: stats.requests, ...stats.byStatus },
            problems: countEvents(worker.problems),
        });
    } finally {
        unwatch();
        stack.graph.setFaults({});
        await sender.close();
        await client.close();
        if (!totals) await worker.stop().catch(() => undefined);
    }
    const traffic: Traffic = { bodies: [], newest, invalid };
    expectSettled(traffic, stack.graph, stack.serviceBus);
});

function countEvents(lines: readonly string[]): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const line of lines) {
        const event = /"event":"([^"]+)"/.exec(line)?.[1] ?? 'unparsed';
        counts[event] = (counts[event] ?? 0) + 1;
    }
    return counts;
}
