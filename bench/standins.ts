/**
 * The local stand-ins (Service Bus emulator, Graph, identity) in a child process, so the benchmark's RSS and CPU
 * profile show the pipeline and not the queue or the Graph store. The parent talks to it over the IPC channel.
 */
import { fork, type ChildProcess } from 'node:child_process';

import type { GraphFaults, GraphStats } from '../src/emulators/graph';
import { startLocalStandIns } from '../src/emulators/local';
import type { QueueCounts } from '../src/emulators/servicebus';

interface Commands {
    declareQueue: (queue: string) => void;
    counts: (queue: string) => QueueCounts;
    deadLetterCount: (queue: string) => number;
    graphReset: () => void;
    graphFaults: (faults: GraphFaults) => void;
    graphStats: () => GraphStats;
    close: () => void;
}

type Command = keyof Commands;

interface Request {
    readonly id: number;
    readonly command: Command;
    readonly args: unknown[];
}

interface Reply {
    readonly id: number;
    readonly result?: unknown;
    readonly error?: string;
}

export interface StandInsProcess {
    /** ServiceBusConnection, GRAPH_BASE_URL, IDENTITY_ENDPOINT, IDENTITY_HEADER and friends. */
    readonly settings: Readonly<Record<string, string>>;
    readonly pid: number;
    call<C extends Command>(command: C, ...args: Parameters<Commands[C]>): Promise<ReturnType<Commands[C]>>;
    close(): Promise<void>;
}

/** Fork this file as the stand-ins process; resolves once its stand-ins listen. */
export async function startStandInsProcess(): Promise<StandInsProcess> {
    const child: ChildProcess = fork(__filename, ['--child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
    let nextId = 1;
    const settings = await new Promise<Record<string, string>>((resolve, reject) => {
        child.once('error', reject);
        child.once('exit', (code) => reject(new Error(`stand-ins process exited early (${code})`)));
        child.once('message', (m) => resolve((m as { settings: Record<string, string> }).settings));
    });
    child.removeAllListeners('exit');
    child.on('message', (m) => {
        const reply = m as Reply;
        const waiter = pending.get(reply.id);
        if (!waiter) return;
        pending.delete(reply.id);
        if (reply.error !== undefined) waiter.reject(new Error(reply.error));
        else waiter.resolve(reply.result);
    });
    const call = <C extends Command>(command: C, ...args: Parameters<Commands[C]>) =>
        new Promise<ReturnType<Commands[C]>>((resolve, reject) => {
            const id = nextId++;
            pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
            child.send({ id, command, args } satisfies Request);
        });
    return {
        settings,
        pid: child.pid ?? 0,
        call,
        async close() {
            const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
            await call('close').catch(() => undefined);
            await exited;
        },
    };
}

async function runChild(): Promise<void> {
    const standIns = await startLocalStandIns({ ports: { serviceBus: 0, graph: 0, identity: 0 } });
    const commands: Commands = {
        declareQueue: (queue) => standIns.serviceBus.declareQueue(queue),
        counts: (queue) => standIns.serviceBus.counts(queue),
        deadLetterCount: (queue) => standIns.serviceBus.counts(queue).deadLettered,
        graphReset: () => standIns.graph.reset(),
        graphFaults: (faults) => standIns.graph.setFaults(faults),
        graphStats: () => standIns.graph.stats(),
        close: () => undefined,
    };
    process.on('message', (m) => {
        const { id, command, args } = m as Request;
        let reply: Reply;
        try {
            reply = { id, result: (commands[command] as (...a: unknown[]) => unknown)(...args) };
        } catch (err) {
            reply = { id, error: err instanceof Error ? err.message : String(err) };
        }
        process.send?.(reply, () => {
            if (command === 'close') void standIns.close().then(() => process.exit(0));
        });
    });
    process.send?.({ settings: standIns.settings });
}

if (require.main === module && process.argv.includes('--child')) {
    runChild().catch((err: unknown) => {
        console.error(err);
        process.exit(1);
    });
}
