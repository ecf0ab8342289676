import { describe, expect, it } from 'vitest';

import { AdaptiveConcurrency, type ConcurrencyChange, loadSignalOf } from '../../src/graph/concurrency';

const open = () => new AbortController().signal;

/** A limiter on a hand-driven clock that records every change. */
function limiter(max: number, initial = 4) {
    let clock = 1_000;
    const changes: { limit: number; change: ConcurrencyChange }[] = [];
    const aimd = new AdaptiveConcurrency({ max, initial, cooldownMs: 100, now: () => clock, onChange: (limit, _p, change) => changes.push({ limit, change }) });
    return { aimd, changes, advance: (ms: number) => (clock += ms) };
}

async function finish(aimd: AdaptiveConcurrency, n: number, load: 'success' | 'overload'): Promise<void> {
    for (let i = 0; i < n; i++) {
        await aimd.acquire(open());
        aimd.release(load);
    }
}

describe('adaptive concurrency (AIMD)', () => {
    it('adds one after a window of `limit` successes', async () => {
        const { aimd, changes } = limiter(16);
        await finish(aimd, 3, 'success');
        expect(aimd.current).toBe(4);
        await finish(aimd, 1, 'success');
        expect(aimd.current).toBe(5);
        await finish(aimd, 5, 'success');
        expect(aimd.current).toBe(6);
        expect(changes).toEqual([
            { limit: 5, change: 'increase' },
            { limit: 6, change: 'increase' },
        ]);
    });

    it('halves on overload once per cooldown, with a floor of 1', async () => {
        const { aimd, advance } = limiter(16, 8);
        await finish(aimd, 3, 'overload');
        expect(aimd.current).toBe(4);
        advance(100);
        await finish(aimd, 1, 'overload');
        expect(aimd.current).toBe(2);
        for (let i = 0; i < 3; i++) {
            advance(100);
            await finish(aimd, 1, 'overload');
        }
        expect(aimd.current).toBe(1);
    });

    it('never rises above the ceiling, and starts at the ceiling when it is lower than the start value', async () => {
        const { aimd } = limiter(3);
        expect(aimd.current).toBe(3);
        await finish(aimd, 50, 'success');
        expect(aimd.current).toBe(3);
    });

    it('classifies 429, 5xx and timeouts as overload, other answers as success, other network failures as neutral', () => {
        expect([429, 500, 502, 503, 504, 408].map((s) => loadSignalOf(s))).toEqual(Array(6).fill('overload'));
        expect([200, 201, 204, 400, 404, 409].map((s) => loadSignalOf(s))).toEqual(Array(6).fill('success'));
        expect(loadSignalOf(0, 'timeout')).toBe('overload');
        expect(loadSignalOf(0, 'reset')).toBe('neutral');
    });

    it('never grants more than the current limit, also right after a decrease', async () => {
        const { aimd } = limiter(16, 4);
        let inFlight = 0;
        let worst = 0;
        const task = async (load: 'success' | 'overload') => {
            await aimd.acquire(open());
            inFlight++;
            worst = Math.max(worst, inFlight - aimd.current);
            await new Promise((resolve) => setImmediate(resolve));
            inFlight--;
            aimd.release(load);
        };
        // The first four fill the limit; one overload halves it while others queue behind it.
        await Promise.all(Array.from({ length: 40 }, (_, i) => task(i === 2 ? 'overload' : 'success')));
        expect(worst).toBeLessThanOrEqual(0);
        expect(aimd.inFlight).toBe(0);
    });

    it('lets a queued request give up when its signal aborts', async () => {
        const { aimd } = limiter(1, 1);
        await aimd.acquire(open());
        const cancel = new AbortController();
        const waiting = aimd.acquire(cancel.signal);
        cancel.abort(new Error('gave up'));
        await expect(waiting).rejects.toThrow('gave up');
        aimd.release('neutral');
        expect(aimd.inFlight).toBe(0);
    });
});
