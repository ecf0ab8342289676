import { describe, expect, it } from 'vitest';

import type { RetryOutcome } from '../../src/outcome';
import { backoffMs, decideRetry, defaultRetryPolicy, retryProperty, type RetryPolicy } from '../../src/recoverability/retry-policy';

const policy: RetryPolicy = { maxAttempts: 4, maxTotalMs: 60_000, baseDelayMs: 1_000, maxDelayMs: 5_000, jitter: 0.2 };
const throttled: RetryOutcome = { kind: 'retry', errorCode: 'GraphThrottled', description: '429 from Graph', systemic: false, graphStatus: 429 };
const t0 = Date.parse('2026-12-03T10:00:00Z');

describe('backoffMs', () => {
    it('doubles from the base delay up to the cap, within the jitter band', () => {
        expect(backoffMs(1, policy, undefined, () => 0.5)).toBe(1_000);
        expect(backoffMs(3, policy, undefined, () => 0.5)).toBe(4_000);
        expect(backoffMs(10, policy, undefined, () => 0.5)).toBe(5_000);
        expect(backoffMs(1, policy, undefined, () => 0)).toBe(800);
        expect(backoffMs(1, policy, undefined, () => 1)).toBe(1_200);
    });

    it('honours a longer Retry-After and ignores a shorter one', () => {
        expect(backoffMs(1, policy, 9_000, () => 0.5)).toBe(9_000);
        expect(backoffMs(3, policy, 10, () => 0.5)).toBe(4_000);
    });

    it('has documented defaults', () => {
        expect(defaultRetryPolicy).toEqual({ maxAttempts: 12, maxTotalMs: 86_400_000, baseDelayMs: 10_000, maxDelayMs: 1_800_000, jitter: 0.2 });
    });
});

describe('decideRetry', () => {
    it('schedules the first retry with full bookkeeping and a deterministic message id', () => {
        const d = decideRetry(
            { body: '{}', messageId: 'm-1', deliveryCount: 0, enqueuedTimeUtc: new Date(t0 - 5_000), applicationProperties: { source: 'job-7' } },
            throttled,
            policy,
            t0,
            () => 0.5,
        );
        expect(d).toEqual({
            kind: 'reschedule',
            attempt: 1,
            notBefore: new Date(t0 + 1_000),
            messageId: 'm-1#r1',
            applicationProperties: {
                source: 'job-7',
                [retryProperty.attempt]: 1,
                [retryProperty.firstFailureAt]: '2026-12-03T10:00:00.000Z',
                [retryProperty.lastFailureAt]: '2026-12-03T10:00:00.000Z',
                [retryProperty.lastErrorCode]: 'GraphThrottled',
                [retryProperty.originalEnqueuedAt]: '2026-12-03T09:59:55.000Z',
                [retryProperty.originalMessageId]: 'm-1',
                [retryProperty.history]: '1@2026-12-03T10:00:00.000Z:GraphThrottled(429)',
            },
        });
    });

    it('carries the lineage forward on later attempts, counting broker redeliveries too', () => {
        const first = decideRetry({ body: '{}', messageId: 'm-1', deliveryCount: 0 }, throttled, policy, t0, () => 0.5);
        if (first.kind !== 'reschedule') throw new Error('expected a reschedule');
        const second = decideRetry(
            { body: '{}', messageId: first.messageId, deliveryCount: 1, applicationProperties: first.applicationProperties },
            { ...throttled, errorCode: 'GraphUnavailable', graphStatus: 503 },
            policy,
            t0 + 2_000,
            () => 0.5,
        );
        expect(second).toMatchObject({ kind: 'reschedule', attempt: 3, messageId: 'm-1#r3' });
        if (second.kind !== 'reschedule') throw new Error('expected a reschedule');
        expect(second.applicationProperties[retryProperty.firstFailureAt]).toBe('2026-12-03T10:00:00.000Z');
        expect(String(second.applicationProperties[retryProperty.history]).split(';')).toHaveLength(2);
    });

    it('is exhausted once the attempts are spent, with the history in the description', () => {
        const d = decideRetry(
            { body: '{}', messageId: 'm-1#r3', applicationProperties: { [retryProperty.attempt]: 3, [retryProperty.history]: '1@x:A;2@y:B;3@z:C' } },
            { ...throttled, graphRequestId: 'req-9' },
            policy,
            t0,
        );
        expect(d.kind).toBe('exhausted');
        if (d.kind !== 'exhausted') return;
        expect(d.description).toMatch(/^Retries exhausted after 4 attempts\. Last error GraphThrottled: 429 from Graph\. History: 1@x:A;2@y:B;3@z:C;4@/);
        expect(d.properties).toMatchObject({ errorCode: 'GraphThrottled', graphStatus: 429, graphRequestId: 'req-9', attempt: 4, [retryProperty.attempt]: 4 });
    });

    it('is exhausted once the time since the first failure is spent', () => {
        const d = decideRetry(
            { body: '{}', applicationProperties: { [retryProperty.attempt]: 1, [retryProperty.firstFailureAt]: new Date(t0 - 61_000).toISOString() } },
            throttled,
            policy,
            t0,
        );
        expect(d.kind).toBe('exhausted');
        if (d.kind === 'exhausted') expect(d.description).toContain('61 s since the first failure');
    });

    it('keeps the history bounded, newest entries last', () => {
        const long = Array.from({ length: 80 }, (_, i) => `${i}@2026-12-03T10:00:00.000Z:GraphUnavailable(503)`).join(';');
        const d = decideRetry({ body: '{}', applicationProperties: { [retryProperty.history]: long } }, throttled, { ...policy, maxAttempts: 1000 }, t0);
        if (d.kind !== 'reschedule') throw new Error('expected a reschedule');
        const history = String(d.applicationProperties[retryProperty.history]);
        expect(history.length).toBeLessThanOrEqual(600);
        expect(history.endsWith('GraphThrottled(429)')).toBe(true);
    });
});
