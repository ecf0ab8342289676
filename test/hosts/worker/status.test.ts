import { describe, expect, it } from 'vitest';

import { createStatusReporter, formatStatus } from '../../../src/hosts/worker/status';
import type { WorkerTotals } from '../../../src/hosts/worker/worker';
import { memoryLogger } from '../../../src/log';

const totals = (over: Partial<WorkerTotals> = {}): WorkerTotals => ({
    received: 12, completed: 9, deadLettered: { SchemaViolation: 2, MalformedBody: 1 }, retried: 0, settlementFailures: 0, batches: 2, startedAt: 0, ...over,
});

describe('formatStatus', () => {
    it('shows counts, dead letters by reason and the rate', () => {
        expect(formatStatus(totals(), 3000)).toBe(
            'received 12 · completed 9 · dead-lettered 3 (SchemaViolation 2, MalformedBody 1) · retried 0 · 3.0 msg/s',
        );
        expect(formatStatus(totals({ deadLettered: {} }), 1000)).toContain('dead-lettered 0 · ');
    });
});

describe('createStatusReporter', () => {
    it('rewrites one line on a terminal', () => {
        let written = '';
        const stream = { isTTY: true, write: (s: string) => (written += s) } as unknown as NodeJS.WriteStream;
        const r = createStatusReporter(stream, memoryLogger());
        r.update(totals());
        r.done(totals());
        expect(written.startsWith('\r\x1b[2Kreceived 12')).toBe(true);
        expect(written.endsWith('\n')).toBe(true);
    });

    it('logs structured progress elsewhere, at most once per interval', () => {
        const logger = memoryLogger();
        const stream = { isTTY: false, write: () => true } as unknown as NodeJS.WriteStream;
        const r = createStatusReporter(stream, logger, 60_000);
        r.update(totals());
        r.update(totals());
        r.done(totals());
        expect(logger.records.map((x) => x.event)).toEqual(['worker.progress']);
    });
});

describe('formatStatus with the adaptive Graph concurrency', () => {
    it('shows the current limit when the writer reports one', () => {
        expect(formatStatus(totals({ graphConcurrency: 12 }), 3000)).toMatch(/ · Graph concurrency 12$/);
    });
});
