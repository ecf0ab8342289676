import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateAggregate, validateWithSchema } from '../../src/contract/decode';
import { tryFastPath } from '../../src/contract/fast-path';
import { aggregateBody } from './aggregate-factory';
import { bodyArbitrary } from './aggregate-arbitraries';

describe('fast path', () => {
    it('gives exactly the valibot verdict, and handles every accepted body itself', () => {
        let acceptedCount = 0;
        fc.assert(
            fc.property(bodyArbitrary, (body) => {
                const slow = validateWithSchema(body);
                expect(validateAggregate(body)).toEqual(slow);
                const fast = tryFastPath(body);
                if (slow.ok) {
                    acceptedCount += 1;
                    expect(fast).toEqual(slow.aggregate);
                    for (const [key, value] of Object.entries(slow.aggregate)) expect(Object.is(value, (fast as unknown as Record<string, unknown>)[key])).toBe(true);
                } else {
                    expect(fast).toBeUndefined();
                }
            }),
            { numRuns: 1500 },
        );
        // The generator must exercise both sides; otherwise the property proves little.
        expect(acceptedCount).toBeGreaterThan(50);
    });

    it('is taken for a typical valid body', () => {
        expect(tryFastPath(aggregateBody())).toEqual(aggregateBody());
    });
});
