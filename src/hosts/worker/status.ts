import type { Logger } from '../../log';
import type { WorkerTotals } from './worker';

/** One human line: received, completed, dead-lettered by reason, retried, rate. */
export function formatStatus(t: WorkerTotals, now: number = Date.now()): string {
    const seconds = Math.max(0.001, (now - t.startedAt) / 1000);
    const dead = Object.entries(t.deadLettered);
    const deadCount = dead.reduce((sum, [, n]) => sum + n, 0);
    const deadText = dead.length ? ` (${dead.map(([r, n]) => `${r} ${n}`).join(', ')})` : '';
    return (
        `received ${t.received} · completed ${t.completed} · dead-lettered ${deadCount}${deadText} · ` +
        `retried ${t.retried} · ${(t.completed / seconds).toFixed(1)} msg/s` +
        (t.graphConcurrency === undefined ? '' : ` · Graph concurrency ${t.graphConcurrency}`)
    );
}

export interface StatusReporter {
    update(totals: WorkerTotals): void;
    done(totals: WorkerTotals): void;
}

/** A live single line on a terminal; elsewhere a structured progress record at most every `intervalMs`. */
export function createStatusReporter(
    stream: NodeJS.WriteStream,
    logger: Logger,
    intervalMs = 10_000,
): StatusReporter {
    let last = 0;
    const tty = stream.isTTY === true;
    return {
        update(totals) {
            const now = Date.now();
            if (now - last < (tty ? 250 : intervalMs)) return;
            last = now;
            if (tty) stream.write(`\r\x1b[2K${formatStatus(totals, now)}`);
            else logger.log('info', 'worker.progress', { status: formatStatus(totals, now), ...totals });
        },
        done(totals) {
            if (tty) stream.write(`\r\x1b[2K${formatStatus(totals)}\n`);
        },
    };
}
