/**
 * Mixed outcomes settled in one tick. rhea 3.0.5 (under @azure/service-bus) coalesces the dispositions of
 * consecutive deliveries into one frame, and its check skips the outcome comparison for the first pair, so the
 * second delivery of a pair gets the first one's outcome: a valid message after an invalid one is dead-lettered,
 * an invalid one after a valid one is completed (lost). The worker's DispositionOrder keeps them apart.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { aggregate, idOf, queue, startStack, type Stack } from '../e2e/stack';

let stack: Stack;
beforeAll(async () => {
    stack = await startStack();
});
afterAll(async () => {
    await stack.close();
});
beforeEach(() => {
    stack.serviceBus.reset();
    stack.graph.reset();
});

const valid = (n: number) => JSON.stringify(aggregate(n));
const invalid = '{"tenantId": "not-a-guid"}';

describe('settling a batch with mixed outcomes through the worker', () => {
    it('does not dead-letter a valid message received right after an invalid one', async () => {
        await stack.send([invalid, valid(1)]);
        await stack.drain({ batchSize: 2, loops: 1 });
        expect(stack.graph.entities().has(idOf(1))).toBe(true);
        expect(stack.serviceBus.deadLetters(queue).map((d) => d.deadLetterReason)).toEqual(['SchemaViolation']);
        expect(stack.serviceBus.deadLetters(queue).map((d) => d.deadLetterErrorDescription)).toEqual([expect.stringContaining('tenantId: must be a GUID')]);
    });

    it('does not complete (lose) an invalid message received right after a valid one', async () => {
        await stack.send([valid(2), invalid]);
        await stack.drain({ batchSize: 2, loops: 1 });
        expect(stack.graph.entities().has(idOf(2))).toBe(true);
        expect(stack.serviceBus.deadLetters(queue).map((d) => d.deadLetterReason)).toEqual(['SchemaViolation']);
    });

    it('keeps each reason when two different invalid messages are settled together', async () => {
        await stack.send(['not json', invalid]);
        await stack.drain({ batchSize: 2, loops: 1 });
        expect(stack.serviceBus.deadLetters(queue).map((d) => d.deadLetterReason).sort()).toEqual(['MalformedBody', 'SchemaViolation']);
    });
});
