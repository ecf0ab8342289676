/**
 * Throughput benchmark: CPU per message, the emulator's drain ceiling, a naive one-message-per-invocation pipeline,
 * our worker, our worker against a rate-limited Graph, and memory over a long drain. Everything runs on loopback;
 * the stand-ins live in a child process. Usage: node dist/bench/run.js [--n 5000] [--latency 25] [--rate 200]
 * [--memory-n 100000] [--skip-memory] [--loops 2] [--batch-size 50]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

import { ServiceBusClient, type ServiceBusReceivedMessage } from '@azure/service-bus';

import { createWriter } from '../src/compose';
import { loadWorkerConfig } from '../src/config';
import { decodeAggregate } from '../src/contract/decode';
import { ENTITY_ODATA_TYPE, toEntity } from '../src/entity';
import { defaultWorkerOptions, runWorker, type WorkerTotals } from '../src/hosts/worker/worker';
import { jsonLineLogger, type Logger } from '../src/log';
import { CircuitBreaker, defaultCircuitOptions } from '../src/recoverability/circuit-breaker';
import { startStandInsProcess, type StandInsProcess } from './standins';

const COLLECTION = '/tenantRelationships/managedTenants/aggregatedPolicyCompliances';
/** The Functions host's default `maxConcurrentCalls` for Service Bus in Node. */
const NAIVE_MAX_CONCURRENT_CALLS = 16;

const { values: flags } = parseArgs({
    options: {
        n: { type: 'string', default: '5000' },
        latency: { type: 'string', default: '25' },
        rate: { type: 'string', default: '200' },
        'memory-n': { type: 'string', default: '100000' },
        'skip-memory': { type: 'boolean', default: false },
        loops: { type: 'string', default: String(defaultWorkerOptions.loops) },
        'batch-size': { type: 'string', default: String(defaultWorkerOptions.batchSize) },
    },
});
const N = Number(flags.n);
const LATENCY_MS = Number(flags.latency);
const RATE = Number(flags.rate);
const MEMORY_N = Number(flags['memory-n']);
/** The worker's receive shape, used by the drain ceiling and by our pipeline alike. */
const WORKER = { ...defaultWorkerOptions, loops: Number(flags.loops), batchSize: Number(flags['batch-size']) };

/** Log lines are formatted as in production (JSON, redacted) but dropped, so the cost stays and the terminal is quiet. */
const logger: Logger = jsonLineLogger(() => undefined, 'info');

function aggregateBody(i: number, refreshedAt = '2025-02-13T10:17:06.1234567Z'): Buffer {
    const hex = i.toString(16).padStart(12, '0');
    return Buffer.from(
        JSON.stringify({
            tenantId: `34298981-4fc8-4974-9486-${hex}`,
            tenantDisplayName: `Tenant ${i}`,
            compliancePolicyId: `19a8d6a6-d87e-4059-85b3-${hex}`,
            compliancePolicyName: 'Baseline compliance',
            compliancePolicyType: 'DeviceCompliancePolicy',
            compliancePolicyPlatform: 'Windows10',
            numberOfCompliantDevices: 120 + (i % 17),
            numberOfNonCompliantDevices: i % 9,
            numberOfErrorDevices: i % 3,
            policyModifiedDateTime: '2025-01-22T17:01:46Z',
            lastRefreshedDateTime: refreshedAt,
        }),
    );
}

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
}

/** 1. decode + validate + map per message, against JSON.parse of the same bytes, in the same run. */
function measureCpu(count: number) {
    const bodies = Array.from({ length: count }, (_, i) => aggregateBody(i));
    let sink = 0;
    const parseOnly = () => {
        for (const body of bodies) sink += (JSON.parse(body.toString('utf8')) as { numberOfErrorDevices: number }).numberOfErrorDevices;
    };
    const pipeline = () => {
        for (const body of bodies) {
            const decoded = decodeAggregate(body);
            if (!decoded.ok) throw new Error(`sample body rejected: ${decoded.description}`);
            sink += toEntity(decoded.aggregate).numberOfErrorDevices;
        }
    };
    const time = (fn: () => void) => {
        const started = process.hrtime.bigint();
        fn();
        return Number(process.hrtime.bigint() - started) / 1000 / count;
    };
    const rounds = 7;
    const parse: number[] = [];
    const ours: number[] = [];
    parseOnly();
    pipeline();
    for (let r = 0; r < rounds; r++) {
        parse.push(time(parseOnly));
        ours.push(time(pipeline));
    }
    if (sink === 0) throw new Error('unreachable: keeps the loops from being optimised away');
    const jsonParseUs = median(parse);
    const pipelineUs = median(ours);
    return { messages: count, jsonParseUs, decodeValidateMapUs: pipelineUs, ratio: pipelineUs / jsonParseUs };
}

async function fillQueue(client: ServiceBusClient, queue: string, count: number, from = 0): Promise<void> {
    const sender = client.createSender(queue);
    try {
        let batch = await sender.createMessageBatch();
        for (let i = from; i < from + count; i++) {
            const message = { body: aggregateBody(i), contentType: 'application/json', messageId: `bench-${queue}-${i}` };
            if (!batch.tryAddMessage(message)) {
                await sender.sendMessages(batch);
                batch = await sender.createMessageBatch();
                batch.tryAddMessage(message);
            }
        }
        if (batch.count > 0) await sender.sendMessages(batch);
    } finally {
        await sender.close();
    }
}

async function freshQueue(standIns: StandInsProcess, client: ServiceBusClient, name: string, count: number): Promise<void> {
    await standIns.call('declareQueue', name);
    await fillQueue(client, name, count);
    const counts = await standIns.call('counts', name);
    if (counts.active !== count) throw new Error(`queue ${name} holds ${counts.active} messages, expected ${count}`);
}

async function waitUntilEmpty(standIns: StandInsProcess, queue: string): Promise<void> {
    for (;;) {
        const c = await standIns.call('counts', queue);
        if (c.active + c.locked + c.scheduled === 0) return;
        await sleep(20);
    }
}

/** 2. The emulator's own receive + complete rate with a no-op handler, with our worker's batch size and loops. */
async function measureDrain(standIns: StandInsProcess, client: ServiceBusClient, count: number) {
    const queue = 'bench-drain';
    await freshQueue(standIns, client, queue, count);
    let drained = 0;
    const started = performance.now();
    const loop = async () => {
        const receiver = client.createReceiver(queue, { receiveMode: 'peekLock', skipParsingBodyAsJson: true });
        try {
            while (drained < count) {
                const messages = await receiver.receiveMessages(WORKER.batchSize, { maxWaitTimeInMs: 200 });
                await Promise.all(messages.map((m) => receiver.completeMessage(m)));
                drained += messages.length;
            }
        } finally {
            await receiver.close();
        }
    };
    await Promise.all(Array.from({ length: WORKER.loops }, loop));
    const seconds = (performance.now() - started) / 1000;
    return { messages: count, seconds, perSecond: count / seconds };
}

/** 3. The Functions sample shape: one message per invocation, parse, one POST with a cached token, complete. */
async function measureNaive(standIns: StandInsProcess, client: ServiceBusClient, count: number) {
    const queue = 'bench-naive';
    await standIns.call('graphReset');
    await standIns.call('graphFaults', { latencyMs: LATENCY_MS });
    await freshQueue(standIns, client, queue, count);
    const { GRAPH_BASE_URL: graph, IDENTITY_ENDPOINT: identity, IDENTITY_HEADER: header } = standIns.settings;
    const query = new URLSearchParams({ 'api-version': '2019-08-01', resource: 'https://graph.microsoft.com' });
    const tokenResponse = await fetch(`${identity}?${query.toString()}`, { headers: { 'X-IDENTITY-HEADER': header! } });
    const { access_token: token } = (await tokenResponse.json()) as { access_token: string };
    const receiver = client.createReceiver(queue, { receiveMode: 'peekLock', skipParsingBodyAsJson: true });
    let handled = 0;
    let failed = 0;
    const started = performance.now();
    let allHandled: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (allHandled = resolve));
    const subscription = receiver.subscribe(
        {
            processMessage: async (message: ServiceBusReceivedMessage) => {
                const aggregate = JSON.parse((message.body as Buffer).toString('utf8')) as { tenantId: string; compliancePolicyId: string };
                const entity = { '@odata.type': ENTITY_ODATA_TYPE, id: `${aggregate.tenantId}_${aggregate.compliancePolicyId}`, ...aggregate };
                const res = await fetch(`${graph}/v1.0${COLLECTION}`, {
                    method: 'POST',
                    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
                    body: JSON.stringify(entity),
                });
                await res.text();
                if (!res.ok) failed++;
                if (++handled === count) allHandled();
            },
            processError: () => Promise.resolve(),
        },
        { maxConcurrentCalls: NAIVE_MAX_CONCURRENT_CALLS, autoCompleteMessages: true },
    );
    await done;
    await waitUntilEmpty(standIns, queue);
    const seconds = (performance.now() - started) / 1000;
    await subscription.close();
    await receiver.close();
    return { messages: count, seconds, perSecond: count / seconds, failedPosts: failed };
}

/** Our worker, composed as `compliance-ingest worker` composes it, until every message of the queue is settled. */
async function runOurs(standIns: StandInsProcess, queue: string, count: number, onTick?: () => void) {
    const env = { ...standIns.settings, COMPLIANCE_QUEUE_NAME: queue };
    const config = loadWorkerConfig(env);
    const client = new ServiceBusClient(standIns.settings.ServiceBusConnection!);
    const circuit = new CircuitBreaker(logger, { ...defaultCircuitOptions, coolDownMs: config.circuitCoolDownMs });
    const sender = client.createSender(queue);
    const writer = createWriter(config.graph, logger);
    const stop = new AbortController();
    const started = performance.now();
    // Timed to the last settlement: the worker may still sit in a receive that waits for messages that never come.
    let settledAt = 0;
    const ticker = onTick ? setInterval(onTick, 100) : undefined;
    let totals: WorkerTotals;
    try {
        totals = await runWorker(
            { queueName: queue, ...WORKER, batchBudgetMs: config.batchBudgetMs },
            {
                client,
                writer: circuit.wrap(writer),
                logger,
                rescheduler: sender,
                retryPolicy: config.retry,
                circuit,
                onProgress: (t) => {
                    const dead = Object.values(t.deadLettered).reduce((a, b) => a + b, 0);
                    if (t.completed + dead >= count && !stop.signal.aborted) {
                        settledAt = performance.now();
                        stop.abort();
                    }
                },
            },
            stop.signal,
        );
    } finally {
        if (ticker) clearInterval(ticker);
        await sender.close();
        await client.close();
    }
    const seconds = ((settledAt || performance.now()) - started) / 1000;
    return { seconds, totals, concurrency: writer.concurrency };
}

/** 4. Our pipeline under the naive run's conditions. */
async function measureOurs(standIns: StandInsProcess, client: ServiceBusClient, count: number) {
    const queue = 'bench-ours';
    await standIns.call('graphReset');
    await standIns.call('graphFaults', { latencyMs: LATENCY_MS });
    await freshQueue(standIns, client, queue, count);
    const run = await runOurs(standIns, queue, count);
    const stats = await standIns.call('graphStats');
    return {
        messages: count,
        seconds: run.seconds,
        perSecond: count / run.seconds,
        completed: run.totals.completed,
        graphHttpRequests: stats.requests,
        finalConcurrency: run.concurrency,
    };
}

/** 5. Our pipeline against a Graph that accepts `RATE` writes per second. */
async function measureThrottled(standIns: StandInsProcess, client: ServiceBusClient, count: number) {
    const queue = 'bench-throttled';
    await standIns.call('graphReset');
    await standIns.call('graphFaults', { latencyMs: LATENCY_MS, writeRateLimitPerSecond: RATE });
    await freshQueue(standIns, client, queue, count);
    const run = await runOurs(standIns, queue, count);
    await waitUntilEmpty(standIns, queue);
    const stats = await standIns.call('graphStats');
    const answers = Object.entries(stats.byStatus).filter(([status]) => status !== 'dropped').reduce((sum, [, n]) => sum + n, 0);
    const writeRate = stats.entities / run.seconds;
    return {
        messages: count,
        rateLimit: RATE,
        seconds: run.seconds,
        writesPerSecond: writeRate,
        shareOfRate: writeRate / RATE,
        answers,
        throttled: stats.throttled,
        throttledShare: stats.throttled / answers,
        graphHttpRequests: stats.requests,
        rescheduled: run.totals.retried,
        deadLettered: await standIns.call('deadLetterCount', queue),
    };
}

/** 6. Peak RSS of this process (the worker; the queue lives in the child) while draining `count` messages. */
async function measureMemory(standIns: StandInsProcess, client: ServiceBusClient, count: number) {
    const queue = 'bench-memory';
    await standIns.call('graphReset');
    await standIns.call('graphFaults', { latencyMs: LATENCY_MS });
    await standIns.call('declareQueue', queue);
    const chunk = 10_000;
    for (let from = 0; from < count; from += chunk) await fillQueue(client, queue, Math.min(chunk, count - from), from);
    const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
    // With --expose-gc (npm run bench passes it), live heap after a full collection tells retention from garbage.
    const collect = (globalThis as { gc?: () => void }).gc;
    collect?.();
    const heapStart = process.memoryUsage().heapUsed;
    const start = process.memoryUsage().rss;
    let peak = start;
    const samples: number[] = [];
    const run = await runOurs(standIns, queue, count, () => {
        const rss = process.memoryUsage().rss;
        samples.push(rss);
        peak = Math.max(peak, rss);
    });
    const end = process.memoryUsage().rss;
    collect?.();
    const heapEnd = process.memoryUsage().heapUsed;
    // Growth between the first and the last tenth of the run separates a leak from a one-off warm-up.
    const tenth = Math.max(1, Math.floor(samples.length / 10));
    const early = median(samples.slice(0, tenth));
    const late = median(samples.slice(-tenth));
    return {
        messages: count,
        seconds: run.seconds,
        perSecond: count / run.seconds,
        rssStartMb: mb(start),
        rssPeakMb: mb(peak),
        rssEndMb: mb(end),
        peakMinusStartMb: mb(peak - start),
        firstToLastTenthMb: mb(late - early),
        ...(collect ? { liveHeapStartMb: mb(heapStart), liveHeapEndMb: mb(heapEnd) } : {}),
    };
}

function table(rows: [string, string, string][]): string {
    const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
    return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  │  ')).join('\n');
}

async function main(): Promise<void> {
    const benchStarted = performance.now();
    const fixed = (n: number, digits = 1) => n.toFixed(digits);
    console.error(`bench: N=${N}, Graph latency ${LATENCY_MS} ms, rate limit ${RATE} writes/s, memory N=${flags['skip-memory'] ? 'skipped' : MEMORY_N}`);
    const cpu = measureCpu(N);
    console.error(`cpu: ${fixed(cpu.decodeValidateMapUs, 2)} µs/msg (${fixed(cpu.ratio, 2)}× JSON.parse)`);
    const standIns = await startStandInsProcess();
    for (const [k, v] of Object.entries(standIns.settings)) if (k.startsWith('IDENTITY_')) process.env[k] = v;
    const client = new ServiceBusClient(standIns.settings.ServiceBusConnection!);
    try {
        const drain = await measureDrain(standIns, client, N);
        console.error(`drain ceiling: ${fixed(drain.perSecond)} msg/s`);
        const naive = await measureNaive(standIns, client, N);
        console.error(`naive: ${fixed(naive.perSecond)} msg/s`);
        const ours = await measureOurs(standIns, client, N);
        console.error(`ours: ${fixed(ours.perSecond)} msg/s`);
        const throttled = await measureThrottled(standIns, client, N);
        console.error(`throttled: ${fixed(throttled.writesPerSecond)} writes/s`);
        const memory = flags['skip-memory'] ? undefined : await measureMemory(standIns, client, MEMORY_N);

        const summary = {
            at: new Date().toISOString(),
            node: process.version,
            cpus: (await import('node:os')).cpus().length,
            parameters: { n: N, latencyMs: LATENCY_MS, rateLimit: RATE, memoryN: memory ? MEMORY_N : undefined, worker: WORKER },
            cpu,
            drain,
            naive,
            ours,
            throttled,
            memory,
            ratios: { oursToNaive: ours.perSecond / naive.perSecond, oursToDrainCeiling: ours.perSecond / drain.perSecond },
            totalSeconds: (performance.now() - benchStarted) / 1000,
        };
        const rows: [string, string, string][] = [
            ['measure', 'result', 'target'],
            ['decode+validate+map', `${fixed(cpu.decodeValidateMapUs, 2)} µs/msg = ${fixed(cpu.ratio, 2)}× JSON.parse (${fixed(cpu.jsonParseUs, 2)} µs)`, '≤ 3×'],
            ['drain ceiling (no-op handler)', `${fixed(drain.perSecond)} msg/s`, ''],
            ['naive (1 msg/invocation, 16 calls)', `${fixed(naive.perSecond)} msg/s`, ''],
            ['ours (worker, $batch)', `${fixed(ours.perSecond)} msg/s`, ''],
            ['ours / naive', `${fixed(summary.ratios.oursToNaive, 2)}×`, '≥ 15×'],
            ['ours / drain ceiling', `${fixed(summary.ratios.oursToDrainCeiling * 100)} %`, '≥ 70 %'],
            [`throttled at R = ${RATE} writes/s`, `${fixed(throttled.writesPerSecond)} writes/s = ${fixed(throttled.shareOfRate * 100)} % of R`, '≥ 90 %'],
            ['429 share of answers', `${fixed(throttled.throttledShare * 100, 2)} % (${throttled.throttled} of ${throttled.answers})`, '< 5 %'],
            ['dead-lettered under throttling', String(throttled.deadLettered), '0'],
            ...(memory
                ? ([
                      [`RSS over ${MEMORY_N} messages`, `start ${memory.rssStartMb} MB, peak ${memory.rssPeakMb} MB, end ${memory.rssEndMb} MB`, 'flat'],
                      ['RSS peak − start / last − first tenth', `${memory.peakMinusStartMb} MB / ${memory.firstToLastTenthMb} MB`, ''],
                      ...(memory.liveHeapEndMb !== undefined
                          ? [['live heap after GC, start → end', `${memory.liveHeapStartMb} MB → ${memory.liveHeapEndMb} MB`, 'flat'] as [string, string, string]]
                          : []),
                  ] as [string, string, string][])
                : []),
        ];
        console.log(`N = ${N} messages, Graph stand-in latency ${LATENCY_MS} ms, R = ${RATE} writes/s\n`);
        console.log(table(rows));
        console.log(`\n${JSON.stringify(summary, null, 2)}`);
        const out = join(process.cwd(), 'test', 'bench');
        mkdirSync(out, { recursive: true });
        writeFileSync(join(out, 'results.json'), `${JSON.stringify(summary, null, 2)}\n`);
    } finally {
        await client.close();
        await standIns.close();
    }
}

main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
});
