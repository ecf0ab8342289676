import { describe, expect, it } from 'vitest';

import { OncePerWindow } from '../../src/graph/once-per-window';

describe('OncePerWindow', () => {
    it('admits one report per key per window and counts what it held back', () => {
        let now = 1_000;
        const gate = new OncePerWindow(60_000, () => now);

        expect(gate.admit('GraphForbidden')).toEqual({ admitted: true, suppressed: 0 });
        expect(gate.admit('GraphForbidden')).toEqual({ admitted: false, suppressed: 1 });
        expect(gate.admit('TokenUnavailable')).toEqual({ admitted: true, suppressed: 0 });
        now += 59_999;
        expect(gate.admit('GraphForbidden')).toEqual({ admitted: false, suppressed: 2 });
        now += 1;
        expect(gate.admit('GraphForbidden')).toEqual({ admitted: true, suppressed: 2 });
        expect(gate.admit('GraphForbidden')).toEqual({ admitted: false, suppressed: 1 });
    });
});
