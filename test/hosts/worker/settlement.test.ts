import { describe, expect, it } from 'vitest';

import { DispositionOrder, receiverSettlement } from '../../../src/hosts/worker/settlement';
import { SettlementError } from '../../../src/errors';

/** Records when each operation starts and lets the test answer it. */
function controllable() {
    const started: string[] = [];
    const answers = new Map<string, () => void>();
    const op = (name: string) => () =>
        new Promise<string>((resolve) => {
            started.push(name);
            answers.set(name, () => resolve(name));
        });
    const answer = async (name: string) => {
        answers.get(name)!();
        await new Promise((r) => setImmediate(r));
    };
    return { started, op, answer };
}

describe('DispositionOrder', () => {
    it('lets completes share a tick, and sends any other outcome alone after everything before it is answered', async () => {
        const order = new DispositionOrder();
        const c = controllable();
        const all = Promise.all([
            order.complete(c.op('complete 1')),
            order.complete(c.op('complete 2')),
            order.alone(c.op('deadLetter 3')),
            order.complete(c.op('complete 4')),
            order.alone(c.op('abandon 5')),
        ]);
        await new Promise((r) => setImmediate(r));
        expect(c.started).toEqual(['complete 1', 'complete 2']);
        await c.answer('complete 1');
        expect(c.started).toEqual(['complete 1', 'complete 2']);
        await c.answer('complete 2');
        expect(c.started).toEqual(['complete 1', 'complete 2', 'deadLetter 3']);
        await c.answer('deadLetter 3');
        expect(c.started.slice(3)).toEqual(['complete 4']);
        await c.answer('complete 4');
        expect(c.started.slice(4)).toEqual(['abandon 5']);
        await c.answer('abandon 5');
        expect(await all).toEqual(['complete 1', 'complete 2', 'deadLetter 3', 'complete 4', 'abandon 5']);
    });

    it('keeps going after a failed operation', async () => {
        const order = new DispositionOrder();
        await expect(order.alone(() => Promise.reject(new Error('x')))).rejects.toThrow('x');
        await expect(order.complete(() => Promise.resolve('ok'))).resolves.toBe('ok');
    });
});

describe('receiverSettlement', () => {
    it('gives up on a settlement the broker never answers, so the loop goes on', async () => {
        const never = () => new Promise<void>(() => undefined);
        const receiver = { completeMessage: never, deadLetterMessage: never, abandonMessage: never } as never;
        const settlement = receiverSettlement(receiver, 20);
        await expect(settlement.complete({} as never)).rejects.toBeInstanceOf(SettlementError);
        await expect(settlement.deadLetter({} as never, 'SchemaViolation', 'd', {})).rejects.toThrow(/no answer from Service Bus within 20 ms/);
    });
});
