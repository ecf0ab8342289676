/**
 * Fault scenarios shared by the fast suites (test/hardening, a few hundred messages) and the long ones (test/long,
 * thousands): each sends mixed traffic, runs the real worker through the fault, and checks the end state.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import type { ServiceBusEmulator } from '../../src/emulators/servicebus';
import type { WorkerOptions, WorkerTotals } from '../../src/hosts/worker/worker';
import { queue, type Stack } from '../e2e/stack';
import { expectSettled, mixedTraffic, reportFigures, type Traffic } from './traffic';

export interface ScenarioFigures {
    readonly messages: number;
    readonly entities: number;
    readonly invalid: number;
    readonly seconds: number;
    readonly graph: Readonly<Record<string, number>>;
    readonly worker: Omit<WorkerTotals, 'startedAt'>;
}

/** Send in chunks (the SDK sends one batch per call, bounded by the broker's message size). */
export async function sendAll(stack: Stack, bodies: readonly string[]): Promise<void> {
    for (let i = 0; i < bodies.length; i += 200) await stack.send(bodies.slice(i, i + 200));
}

/** Run the worker until nothing is active, locked or scheduled (delayed retries land later), summing its totals. */
export async function drainUntilEmpty(
    stack: Stack,
    options: { serviceBus?: ServiceBusEmulator; timeoutMs: number; worker?: Partial<WorkerOptions> },
): Promise<Omit<WorkerTotals, 'startedAt'>> {
    const serviceBus = options.serviceBus ?? stack.serviceBus;
    const sum = { received: 0, completed: 0, deadLettered: {} as Record<string, number>, retried: 0, settlementFailures: 0, batches: 0 };
    const end = Date.now() + options.timeoutMs;
    for (;;) {
        const totals = await stack.drain({ batchSize: 50, loops: 2, drainIdleMs: 1_500, ...options.worker });
        sum.received += totals.received;
        sum.completed += totals.completed;
        sum.retried += totals.retried;
        sum.settlementFailures += totals.settlementFailures;
        sum.batches += totals.batches;
        for (const [k, n] of Object.entries(totals.deadLettered)) sum.deadLettered[k] = (sum.deadLettered[k] ?? 0) + n;
        const c = serviceBus.counts(queue);
        if (c.active + c.locked + c.scheduled === 0) return sum;
        if (Date.now() > end) throw new Error(`queue not drained in time: ${JSON.stringify(c)}`);
    }
}

/**
 * Traffic through a Graph fault: `faults` are on for the whole run (or `faultMs`, then cleared), and the end state
 * must be exact. Returns the figures and prints them as one line.
 */
export async function graphFaultScenario(
    stack: Stack,
    name: string,
    options: { messages: number; firstKey: number; faults: Parameters<Stack['graph']['setFaults']>[0]; faultMs?: number; timeoutMs: number },
): Promise<ScenarioFigures> {
    stack.serviceBus.reset();
    stack.graph.reset();
    const traffic: Traffic = mixedTraffic(options.messages, { firstKey: options.firstKey, invalidEvery: 50 });
    await sendAll(stack, traffic.bodies);
    const started = Date.now();
    stack.graph.setFaults(options.faults);
    const clear = options.faultMs === undefined ? undefined : setTimeout(() => stack.graph.setFaults({}), options.faultMs);
    let worker;
    try {
        worker = await drainUntilEmpty(stack, { timeoutMs: options.timeoutMs });
    } finally {
        clearTimeout(clear);
        stack.graph.setFaults({});
    }
    const stats = stack.graph.stats();
    const figures: ScenarioFigures = {
        messages: traffic.bodies.length,
        entities: traffic.newest.size,
        invalid: traffic.invalid.size,
        seconds: Math.round((Date.now() - started) / 100) / 10,
        graph: { requests: stats.requests, throttled: stats.throttled, ...stats.byStatus },
        worker,
    };
    reportFigures(name, { ...figures, graph: figures.graph, worker: figures.worker });
    expectSettled(traffic, stack.graph, stack.serviceBus);
    return figures;
}

/** What a worker child process reports about its own memory; `heapUsedMb` is measured after a full GC. */
export interface WorkerMemory {
    readonly rssMb: number;
    readonly heapUsedMb: number;
    /** The process's peak RSS so far (getrusage maxrss). */
    readonly maxRssMb: number;
}

export interface WorkerProcess {
    readonly pid: number;
    memory(): Promise<WorkerMemory>;
    /** Abort the worker (as SIGTERM would) and wait for its totals. */
    stop(): Promise<WorkerTotals>;
    /** Resolves with the totals when the worker ends by itself (drain mode). */
    readonly finished: Promise<WorkerTotals>;
    /** Warning and error log lines, kept so a run can report them. */
    readonly problems: string[];
}

/**
 * The compiled CLI worker command (`runWorkerCommand` from dist/, as `compliance-ingest worker` runs it) in a child
 * process with `--expose-gc`, so its RSS and heap are the worker's alone, not the stand-ins' or the test runner's.
 * Info lines are formatted as in production and dropped; warnings and errors are kept in `problems`.
 */
export function startWorkerProcess(
    env: Readonly<Record<string, string>>,
    options: { drainIdleMs?: number; batchSize?: number; loops?: number } = {},
): WorkerProcess {
    const dist = join(__dirname, '../../dist/src');
    const script = `
        const { runWorkerCommand } = require(${JSON.stringify(join(dist, 'cli/worker.js'))});
        const { jsonLineLogger } = require(${JSON.stringify(join(dist, 'log.js'))});
        const stop = new AbortController();
        const mb = (bytes) => Math.round(bytes / 1024 / 1024 * 10) / 10;
        const logger = jsonLineLogger((line) => {
            if (!line.includes('"level":"info"')) process.send({ problem: line.slice(0, 2000) });
        }, 'info');
        process.on('message', (m) => {
            if (m === 'stop') stop.abort();
            if (m === 'memory') {
                global.gc();
                const usage = process.memoryUsage();
                const maxRssMb = mb(process.resourceUsage().maxRSS * 1024);
                process.send({ memory: { rssMb: mb(usage.rss), heapUsedMb: mb(usage.heapUsed), maxRssMb } });
            }
        });
        runWorkerCommand(process.env, JSON.parse(process.argv[1]), logger, stop.signal).then(
            (totals) => process.send({ totals }, () => process.disconnect()),
            (err) => { console.error(err); process.exit(1); },
        );`;
    const command = {
        drain: options.drainIdleMs !== undefined,
        idleMs: options.drainIdleMs,
        batchSize: options.batchSize,
        loops: options.loops,
    };
    const child = spawn(process.execPath, ['--expose-gc', '-e', script, JSON.stringify(command)], {
        env: { PATH: process.env.PATH ?? '', ...env },
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const problems: string[] = [];
    const memoryWaiters: ((m: WorkerMemory) => void)[] = [];
    const finished = new Promise<WorkerTotals>((resolve, reject) => {
        child.on('message', (m: { problem?: string; memory?: WorkerMemory; totals?: WorkerTotals }) => {
            if (m.problem !== undefined) problems.push(m.problem);
            if (m.memory) memoryWaiters.shift()?.(m.memory);
            if (m.totals) resolve(m.totals);
        });
        child.once('exit', (code) => reject(new Error(`worker process exited (${code}) without totals`)));
    });
    return {
        pid: child.pid ?? 0,
        problems,
        finished,
        memory: () =>
            new Promise<WorkerMemory>((resolve) => {
                memoryWaiters.push(resolve);
                child.send('memory');
            }),
        stop() {
            child.send('stop');
            return finished;
        },
    };
}
