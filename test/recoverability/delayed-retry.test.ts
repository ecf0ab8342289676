import { describe, expect, it } from 'vitest';

import { memoryLogger } from '../../src/log';
import type { RetryOutcome } from '../../src/outcome';
import { bodyBytes, copyFor, withDelayedRetries, type BrokerSettlement } from '../../src/recoverability/delayed-retry';
import type { RetryPlan } from '../../src/settlement';

const outcome: RetryOutcome = { kind: 'retry', errorCode: 'GraphUnavailable', description: '503', systemic: false };
const plan: RetryPlan = {
    outcome,
    message: { body: Buffer.from('{"a":1}'), messageId: 'm', contentType: 'application/json' },
    decision: { kind: 'reschedule', attempt: 2, notBefore: new Date(5_000), messageId: 'm#r2', applicationProperties: { 'ci-attempt': 2 } },
};

function recordingBroker() {
    const calls: string[] = [];
    const broker: BrokerSettlement<string> = {
        complete: (m) => (calls.push(`complete ${m}`), Promise.resolve()),
        deadLetter: (m, reason) => (calls.push(`deadLetter ${m} ${reason}`), Promise.resolve()),
        abandon: (m, props) => (calls.push(`abandon ${m} ${JSON.stringify(props)}`), Promise.resolve()),
    };
    return { broker, calls };
}

describe('withDelayedRetries', () => {
    it('schedules the copy first, then completes the original', async () => {
        const { broker, calls } = recordingBroker();
        const scheduled: unknown[] = [];
        const settlement = withDelayedRetries(broker, { scheduleMessages: (msg, at) => (scheduled.push([msg, at]), calls.push('schedule'), Promise.resolve([1])) }, memoryLogger());
        await settlement.retry('h', plan);
        expect(calls).toEqual(['schedule', 'complete h']);
        expect(scheduled).toEqual([[copyFor(plan.message, plan), new Date(5_000)]]);
    });

    it('falls back to abandon when scheduling fails, and logs it without secrets', async () => {
        const { broker, calls } = recordingBroker();
        const logger = memoryLogger();
        const settlement = withDelayedRetries(broker, { scheduleMessages: () => Promise.reject(new Error('denied; SharedAccessKey=s3cret')) }, logger);
        await settlement.retry('h', plan);
        expect(calls).toEqual(['abandon h {"ci-last-error-code":"GraphUnavailable"}']);
        expect(JSON.stringify(logger.records)).not.toContain('s3cret');
        expect(logger.records[0]).toMatchObject({ event: 'retry.schedule_failed', fields: { fallback: 'abandon' } });
    });

    it('abandons when no sender is configured', async () => {
        const { broker, calls } = recordingBroker();
        await withDelayedRetries(broker, undefined, memoryLogger()).retry('h', plan);
        expect(calls).toEqual(['abandon h {"ci-last-error-code":"GraphUnavailable"}']);
    });

    it('passes complete and dead-letter straight through', async () => {
        const { broker, calls } = recordingBroker();
        const s = withDelayedRetries(broker, undefined, memoryLogger());
        await s.complete('a');
        await s.deadLetter('b', 'SchemaViolation', 'd', {});
        expect(calls).toEqual(['complete a', 'deadLetter b SchemaViolation']);
    });
});

describe('copyFor', () => {
    it('keeps the body bytes and content type, with the new id and bookkeeping', () => {
        expect(copyFor(plan.message, plan)).toEqual({
            body: Buffer.from('{"a":1}'),
            contentType: 'application/json',
            messageId: 'm#r2',
            applicationProperties: { 'ci-attempt': 2 },
        });
    });

    it('turns any delivered body form back into bytes', () => {
        expect(bodyBytes('{"x":1}').toString()).toBe('{"x":1}');
        expect(bodyBytes({ x: 1 }).toString()).toBe('{"x":1}');
        expect(bodyBytes(new Uint8Array([123, 125])).toString()).toBe('{}');
        expect(bodyBytes(undefined).toString()).toBe('');
    });
});
