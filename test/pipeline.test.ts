import { describe, expect, it } from 'vitest';

import type { AggregatedPolicyCompliance } from '../src/entity';
import type { EntityWriter, WriteOutcome } from '../src/graph/writer';
import { memoryLogger } from '../src/log';
import type { DeadLetterReason } from '../src/outcome';
import { decideBatch, ingestBatch } from '../src/pipeline';
import type { RetryPlan, Settlement } from '../src/settlement';

const tenant = '34298981-4fc8-4974-9486-c8909ed1521b';
const policy = (n: number) => `19a8d6a6-d87e-4059-85b3-${n.toString(16).padStart(12, '0')}`;
const body = (n: number, refreshed: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
        tenantId: tenant,
        tenantDisplayName: 'Fourth Coffee',
        compliancePolicyId: policy(n),
        compliancePolicyName: 'Baseline',
        compliancePolicyType: 'Unknown',
        compliancePolicyPlatform: 'Windows10',
        numberOfCompliantDevices: n,
        numberOfNonCompliantDevices: 0,
        numberOfErrorDevices: 0,
        policyModifiedDateTime: '2021-06-22T17:01:46Z',
        lastRefreshedDateTime: refreshed,
        ...extra,
    });

function writer(answer: (e: AggregatedPolicyCompliance) => WriteOutcome = (e) => ({ kind: 'complete', write: 'created', entityId: e.id })) {
    const written: AggregatedPolicyCompliance[][] = [];
    const w: EntityWriter = {
        write(entities) {
            written.push([...entities]);
            return Promise.resolve(new Map(entities.map((e) => [e.id, answer(e)])));
        },
    };
    return { w, written };
}

const opts = { deadlineAt: Number.MAX_SAFE_INTEGER };

describe('decideBatch', () => {
    it('dead-letters bad bodies without writing them and keeps input order', async () => {
        const { w, written } = writer();
        const outcomes = await decideBatch([{ body: 'nope' }, { body: body(1, '2026-01-01T00:00:00Z') }, { body: '[]' }], w, opts);
        expect(outcomes.map((o) => (o.kind === 'deadLetter' ? o.reason : o.kind))).toEqual(['MalformedBody', 'complete', 'SchemaViolation']);
        expect(written).toHaveLength(1);
        expect(written[0]!.map((e) => e.numberOfCompliantDevices)).toEqual([1]);
    });

    it('collapses aggregates for one entity to the newest refresh, ties to the later message', async () => {
        const { w, written } = writer();
        const outcomes = await decideBatch(
            [
                { body: body(1, '2026-01-02T00:00:00Z', { numberOfErrorDevices: 1 }) },
                { body: body(1, '2026-01-03T00:00:00+05:00', { numberOfErrorDevices: 2 }) },
                { body: body(1, '2026-01-01T00:00:00Z', { numberOfErrorDevices: 3 }) },
                { body: body(1, '2026-01-02T19:00:00Z', { numberOfErrorDevices: 4 }) },
            ],
            w,
            opts,
        );
        // 2026-01-03T00:00+05:00 is 2026-01-02T19:00Z: a tie with the last message, which wins.
        expect(written[0]!.map((e) => e.numberOfErrorDevices)).toEqual([4]);
        expect(outcomes.map((o) => (o.kind === 'complete' ? o.write : o.kind))).toEqual(['superseded', 'superseded', 'superseded', 'created']);
    });

    it('retries superseded aggregates when the newest one is rejected, so no valid data is lost with it', async () => {
        const { w } = writer((e) => ({ kind: 'deadLetter', reason: 'GraphRejected', description: '400', properties: {}, entityId: e.id }));
        const outcomes = await decideBatch([{ body: body(1, '2026-01-01T00:00:00Z') }, { body: body(1, '2026-01-02T00:00:00Z') }], w, opts);
        expect(outcomes.map((o) => (o.kind === 'retry' ? o.errorCode : o.kind))).toEqual(['SupersedingAggregateRejected', 'deadLetter']);
    });

    it('never leaves a message without an outcome, even if the writer forgets one', async () => {
        const forgetful: EntityWriter = { write: () => Promise.resolve(new Map()) };
        const [outcome] = await decideBatch([{ body: body(1, '2026-01-01T00:00:00Z') }], forgetful, opts);
        expect(outcome).toMatchObject({ kind: 'retry', errorCode: 'WriteOutcomeMissing' });
    });
});

describe('ingestBatch', () => {
    function recordingSettlement() {
        const calls: unknown[][] = [];
        const settlement: Settlement<string> = {
            complete: (m) => (calls.push(['complete', m]), Promise.resolve()),
            deadLetter: (m, reason: DeadLetterReason, _d, props) => (calls.push(['deadLetter', m, reason, props]), Promise.resolve()),
            retry: (m, plan: RetryPlan) => (calls.push(['retry', m, plan.decision.attempt]), Promise.resolve()),
        };
        return { settlement, calls };
    }

    it('settles each message once and logs one line per outcome', async () => {
        const { settlement, calls } = recordingSettlement();
        const logger = memoryLogger();
        const { w } = writer((e) =>
            e.numberOfCompliantDevices === 2 ? { kind: 'retry', errorCode: 'GraphThrottled', description: '429', systemic: false, entityId: e.id } : { kind: 'complete', write: 'created', entityId: e.id },
        );
        const summary = await ingestBatch(
            [
                { handle: 'a', message: { body: body(1, '2026-01-01T00:00:00Z'), messageId: 'a', deliveryCount: 0 } },
                { handle: 'b', message: { body: body(2, '2026-01-01T00:00:00Z'), messageId: 'b', deliveryCount: 0 } },
                { handle: 'c', message: { body: '{', messageId: 'c', deliveryCount: 2 } },
            ],
            { writer: w, settlement, logger, origin: { host: 'h', function: 'f' }, now: () => Date.parse('2026-12-03T00:00:00Z') },
            opts,
        );
        expect(summary).toEqual({ received: 3, completed: 1, deadLettered: { MalformedBody: 1 }, retried: 1, settlementFailures: 0 });
        expect(calls).toContainEqual(['complete', 'a']);
        expect(calls).toContainEqual(['retry', 'b', 1]);
        expect(calls).toContainEqual([
            'deadLetter',
            'c',
            'MalformedBody',
            expect.objectContaining({ errorCode: 'MalformedBody', attempt: 3, host: 'h', function: 'f', deadLetteredAt: '2026-12-03T00:00:00.000Z' }),
        ]);
        const lines = logger.records.filter((r) => r.event === 'message.settled');
        expect(lines).toHaveLength(3);
        expect(lines.find((l) => l.fields.messageId === 'a')!.fields).toMatchObject({ outcome: 'complete', write: 'created', tenantId: tenant, compliancePolicyId: policy(1) });
        expect(JSON.stringify(logger.records)).not.toContain('Fourth Coffee');
    });

    it('survives a settlement failure: logs it and counts it, the broker redelivers', async () => {
        const logger = memoryLogger();
        const failing: Settlement<string> = {
            complete: () => Promise.reject(new Error('lock lost')),
            deadLetter: () => Promise.resolve(),
            retry: () => Promise.resolve(),
        };
        const summary = await ingestBatch([{ handle: 'a', message: { body: body(1, '2026-01-01T00:00:00Z') } }], { writer: writer().w, settlement: failing, logger }, opts);
        expect(summary.settlementFailures).toBe(1);
        expect(logger.records.some((r) => r.event === 'settlement.failed')).toBe(true);
    });
});
