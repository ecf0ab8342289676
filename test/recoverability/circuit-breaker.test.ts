import { describe, expect, it } from 'vitest';

import type { AggregatedPolicyCompliance } from '../../src/entity';
import type { EntityWriter, WriteOutcome } from '../../src/graph/writer';
import { memoryLogger } from '../../src/log';
import { CircuitBreaker, remediationFor } from '../../src/recoverability/circuit-breaker';

const entity = (n: number) => ({ id: `t_${n}` }) as AggregatedPolicyCompliance;
const entities = (count: number) => Array.from({ length: count }, (_, i) => entity(i));

/** A writer answering each entity with whatever `answer` says, counting the entities it was sent. */
function scriptedWriter(answer: (id: string) => WriteOutcome): EntityWriter & { sent: string[] } {
    const sent: string[] = [];
    return {
        sent,
        write(list) {
            sent.push(...list.map((e) => e.id));
            return Promise.resolve(new Map(list.map((e) => [e.id, answer(e.id)])));
        },
    };
}

const created = (id: string): WriteOutcome => ({ kind: 'complete', write: 'created', entityId: id });
const forbidden = (id: string): WriteOutcome => ({ kind: 'retry', errorCode: 'GraphForbidden', description: '403', systemic: true, graphStatus: 403, entityId: id });
const unavailable = (id: string): WriteOutcome => ({ kind: 'retry', errorCode: 'GraphUnavailable', description: '503', systemic: false, graphStatus: 503, entityId: id });

function clock(start = 1_000_000) {
    const c = { t: start, now: () => c.t };
    return c;
}

const opts = { deadlineAt: Number.MAX_SAFE_INTEGER };

describe('CircuitBreaker', () => {
    it('passes writes through while closed', async () => {
        const inner = scriptedWriter(created);
        const breaker = new CircuitBreaker(memoryLogger(), { coolDownMs: 1_000, maxCoolDownMs: 8_000, transientThreshold: 3 });
        const out = await breaker.wrap(inner).write(entities(3), opts);
        expect([...out.values()].every((o) => o.kind === 'complete')).toBe(true);
        expect(breaker.current).toBe('closed');
    });

    it('opens on a systemic failure, stops calling Graph, and logs one error with a hint', async () => {
        const c = clock();
        const logger = memoryLogger();
        const inner = scriptedWriter(forbidden);
        const breaker = new CircuitBreaker(logger, { coolDownMs: 1_000, maxCoolDownMs: 8_000, transientThreshold: 3, now: c.now });
        const writer = breaker.wrap(inner);
        await writer.write(entities(5), opts);
        expect(breaker.current).toBe('open');
        expect(breaker.reopensAt).toBe(c.t + 1_000);
        const sentBefore = inner.sent.length;
        for (let i = 0; i < 10; i++) {
            const out = await writer.write(entities(5), opts);
            expect([...out.values()].every((o) => o.kind === 'retry' && o.systemic && o.errorCode === 'GraphForbidden')).toBe(true);
        }
        expect(inner.sent.length).toBe(sentBefore);
        const errors = logger.records.filter((r) => r.level === 'error');
        expect(errors).toHaveLength(1);
        expect(errors[0]!.fields).toMatchObject({ cause: 'GraphForbidden', hint: remediationFor('GraphForbidden') });
    });

    it('probes with one entity after the cool-down and closes when Graph answers', async () => {
        const c = clock();
        let healthy = false;
        const inner = scriptedWriter((id) => (healthy ? created(id) : forbidden(id)));
        const logger = memoryLogger();
        const breaker = new CircuitBreaker(logger, { coolDownMs: 1_000, maxCoolDownMs: 8_000, transientThreshold: 3, now: c.now });
        const writer = breaker.wrap(inner);
        await writer.write(entities(2), opts);
        healthy = true;
        c.t += 1_000;
        inner.sent.length = 0;
        const out = await writer.write(entities(4), opts);
        expect(inner.sent[0]).toBe('t_0');
        expect(breaker.current).toBe('closed');
        expect([...out.values()].every((o) => o.kind === 'complete')).toBe(true);
        expect(logger.records.map((r) => r.event)).toEqual(['circuit.opened', 'circuit.probing', 'circuit.closed']);
    });

    it('reopens with a doubled, capped cool-down when the probe fails', async () => {
        const c = clock();
        const inner = scriptedWriter(forbidden);
        const breaker = new CircuitBreaker(memoryLogger(), { coolDownMs: 1_000, maxCoolDownMs: 3_000, transientThreshold: 3, now: c.now });
        const writer = breaker.wrap(inner);
        await writer.write(entities(1), opts);
        for (const expected of [2_000, 3_000, 3_000]) {
            c.t = breaker.reopensAt;
            inner.sent.length = 0;
            await writer.write(entities(3), opts);
            expect(inner.sent).toEqual(['t_0']);
            expect(breaker.reopensAt - c.t).toBe(expected);
        }
    });

    it('opens after a run of transient failures, and a success resets the run', async () => {
        let fail = true;
        const inner = scriptedWriter((id) => (fail ? unavailable(id) : created(id)));
        const breaker = new CircuitBreaker(memoryLogger(), { coolDownMs: 1_000, maxCoolDownMs: 8_000, transientThreshold: 3 });
        const writer = breaker.wrap(inner);
        await writer.write(entities(2), opts);
        fail = false;
        await writer.write(entities(1), opts);
        fail = true;
        await writer.write(entities(2), opts);
        expect(breaker.current).toBe('closed');
        await writer.write(entities(1), opts);
        expect(breaker.current).toBe('open');
    });

    it('does not count throttling or deadlines as failures', async () => {
        const inner = scriptedWriter((id) => ({ kind: 'retry', errorCode: id === 't_0' ? 'GraphThrottled' : 'DeadlineExceeded', description: '', systemic: false, entityId: id }));
        const breaker = new CircuitBreaker(memoryLogger(), { coolDownMs: 1_000, maxCoolDownMs: 8_000, transientThreshold: 1 });
        await breaker.wrap(inner).write(entities(2), opts);
        expect(breaker.current).toBe('closed');
    });
});

describe('CircuitBreaker.wrap', () => {
    it("forwards the inner writer's adaptive concurrency", () => {
        const inner = { ...scriptedWriter(created), concurrency: 7 };
        expect(new CircuitBreaker(memoryLogger()).wrap(inner).concurrency).toBe(7);
    });
});

describe('CircuitBreaker.wrap and pauses', () => {
    it("forwards the inner writer's Retry-After pause", () => {
        const inner = { ...scriptedWriter(created), pausedUntil: 1234 };
        expect(new CircuitBreaker(memoryLogger()).wrap(inner).pausedUntil).toBe(1234);
    });
});
