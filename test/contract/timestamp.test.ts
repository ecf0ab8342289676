import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareInstants, normaliseTimestamp, TIMESTAMP_PATTERN, timestampProblem } from '../../src/contract/timestamp';

describe('normaliseTimestamp', () => {
    it.each([
        ['2021-06-22T17:01:46Z', '2021-06-22T17:01:46Z'],
        ['2021-07-11T01:02:33.4452876Z', '2021-07-11T01:02:33.4452876Z'],
        ['2021-07-11T01:02:33.4452800Z', '2021-07-11T01:02:33.4452800Z'],
        ['2021-07-11T01:02:33.1Z', '2021-07-11T01:02:33.1Z'],
        ['2021-07-11t01:02:33z', '2021-07-11T01:02:33Z'],
        ['2021-07-11T01:02:33+00:00', '2021-07-11T01:02:33Z'],
        ['2021-07-11T01:02:33-00:00', '2021-07-11T01:02:33Z'],
        ['2021-07-11T03:32:33.1234567+02:30', '2021-07-11T01:02:33.1234567Z'],
        ['2021-07-10T20:02:33.0000001-05:00', '2021-07-11T01:02:33.0000001Z'],
        ['2021-12-31T23:30:00-01:00', '2022-01-01T00:30:00Z'],
        ['2021-02-28T23:59:59.9999999-00:01', '2021-03-01T00:00:59.9999999Z'],
        ['2024-02-28T22:00:00-03:00', '2024-02-29T01:00:00Z'],
        ['2024-02-29T12:00:00Z', '2024-02-29T12:00:00Z'],
        ['2000-01-01T00:00:00+14:00', '1999-12-31T10:00:00Z'],
        ['9999-12-31T23:59:59Z', '9999-12-31T23:59:59Z'],
        ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00Z'],
        ['0000-12-31T23:00:00-02:00', '0001-01-01T01:00:00Z'],
        ['1970-01-01T00:00:00+23:59', '1969-12-31T00:01:00Z'],
    ])('%s → %s', (input, expected) => {
        expect(normaliseTimestamp(input)).toBe(expected);
    });

    it.each([
        ['2021-02-30T00:00:00Z', 'must be a real calendar date and time'],
        ['2023-02-29T00:00:00Z', 'must be a real calendar date and time'],
        ['1900-02-29T00:00:00Z', 'must be a real calendar date and time'],
        ['2021-13-01T00:00:00Z', 'must be a real calendar date and time'],
        ['2021-00-01T00:00:00Z', 'must be a real calendar date and time'],
        ['2021-04-31T00:00:00Z', 'must be a real calendar date and time'],
        ['2021-01-01T24:00:00Z', 'must be a real calendar date and time'],
        ['2021-01-01T23:60:00Z', 'must be a real calendar date and time'],
        ['2016-12-31T23:59:60Z', 'must be a real calendar date and time'],
        ['2021-01-01T00:00:00+24:00', 'must be a real calendar date and time'],
        ['2021-01-01T00:00:00+01:60', 'must be a real calendar date and time'],
        ['2021-07-11T01:02:33.44528761Z', 'must have at most 7 fractional digits'],
        ['2021-07-11T01:02:33', 'must have an explicit offset (Z or ±hh:mm)'],
        ['2021-07-11T01:02:33.123', 'must have an explicit offset (Z or ±hh:mm)'],
        ['0000-01-01T00:00:00Z', 'must fall within the years 0001–9999 in UTC'],
        ['9999-12-31T23:00:00-01:00', 'must fall within the years 0001–9999 in UTC'],
        ['2021-07-11 01:02:33Z', 'must be an RFC 3339'],
        ['2021-07-11T01:02Z', 'must be an RFC 3339'],
        ['2021-07-11T01:02:33.Z', 'must be an RFC 3339'],
        ['2021-07-11T01:02:33+0100', 'must be an RFC 3339'],
        ['2021-07-11T01:02:33+01', 'must be an RFC 3339'],
        ['2021-7-11T01:02:33Z', 'must be an RFC 3339'],
        ['+02021-07-11T01:02:33Z', 'must be an RFC 3339'],
        ['2021-07-11T01:02:33Z ', 'must be an RFC 3339'],
        ['٢٠٢١-07-11T01:02:33Z', 'must be an RFC 3339'],
        ['String (timestamp)', 'must be an RFC 3339'],
        ['', 'must be an RFC 3339'],
    ])('rejects %s', (input, problem) => {
        expect(normaliseTimestamp(input)).toBeUndefined();
        expect(timestampProblem(input)).toContain(problem);
    });

    it('agrees with TIMESTAMP_PATTERN on what has the right shape', () => {
        const pieces = ['2021', '0000', '-', '07', '11', '13', '29', 'T', 't', ' ', ':', '01', '60', '24', '.', '1234567', '8', 'Z', 'z', '+', '-05:30', '+14:00', 'x'];
        fc.assert(
            fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 14 }), (parts) => {
                const text = parts.join('');
                if (normaliseTimestamp(text) !== undefined) expect(TIMESTAMP_PATTERN.test(text)).toBe(true);
            }),
        );
        fc.assert(
            fc.property(fc.date({ min: new Date('0001-01-02T00:00:00Z'), max: new Date('9999-12-30T00:00:00Z'), noInvalidDate: true }), (date) => {
                // Every shape the pattern accepts for a real instant is also accepted by the scanner.
                const iso = date.toISOString();
                for (const text of [iso, iso.replace('Z', '+05:30'), iso.replace('Z', '-11:45').replace('T', 't'), iso.replace(/\.\d+/, '')]) {
                    expect(TIMESTAMP_PATTERN.test(text)).toBe(true);
                    expect(normaliseTimestamp(text)).toMatch(/Z$/);
                }
            }),
        );
    });

    it('converts offsets like Date does, for millisecond-precision instants', () => {
        fc.assert(
            fc.property(
                fc.date({ min: new Date('0002-01-01T00:00:00Z'), max: new Date('9998-12-31T00:00:00Z'), noInvalidDate: true }),
                fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
                (date, offsetMinutes) => {
                    const local = new Date(date.getTime() + offsetMinutes * 60_000).toISOString().slice(0, 23);
                    const size = Math.abs(offsetMinutes);
                    const offset = `${offsetMinutes < 0 ? '-' : '+'}${String(Math.floor(size / 60)).padStart(2, '0')}:${String(size % 60).padStart(2, '0')}`;
                    expect(normaliseTimestamp(`${local}${offset}`)).toBe(date.toISOString());
                },
            ),
        );
    });
});

describe('compareInstants', () => {
    it.each([
        ['2021-07-11T01:02:33.4452876Z', '2021-07-11T01:02:33.4452876Z', 0],
        ['2021-07-11T01:02:33.4452876Z', '2021-07-11T01:02:33.4452877Z', -1],
        ['2021-07-11T01:02:33.4452877Z', '2021-07-11T01:02:33.4452876Z', 1],
        ['2021-07-11T01:02:33.5Z', '2021-07-11T01:02:33.4999999Z', 1],
        ['2021-07-11T01:02:33.50Z', '2021-07-11T01:02:33.5Z', 0],
        ['2021-07-11T01:02:33Z', '2021-07-11T01:02:33.0000000Z', 0],
        ['2021-07-11T01:02:33Z', '2021-07-11T01:02:33.0000001Z', -1],
        ['2021-07-11T03:02:33+02:00', '2021-07-11T01:02:33Z', 0],
        ['2021-07-11T01:02:34+02:00', '2021-07-11T01:02:33Z', -1],
        ['2021-07-11T01:02:33', '2021-07-11T01:02:33Z', 0],
        ['2021-07-11 01:02:33.123456789Z', '2021-07-11T01:02:33.12345678Z', 1],
        ['1999-12-31T23:59:59.9999999Z', '2000-01-01T00:00:00Z', -1],
    ] as const)('%s vs %s → %i', (a, b, expected) => {
        expect(compareInstants(a, b)).toBe(expected);
        expect(compareInstants(b, a)).toBe(-expected === 0 ? 0 : -expected);
    });

    it('throws a RangeError naming the bad value (capped) for anything that is not a date-time', () => {
        expect(() => compareInstants('yesterday', '2021-07-11T01:02:33Z')).toThrow(/Not an RFC 3339 date-time: "yesterday"/);
        expect(() => compareInstants('2021-07-11T01:02:33Z', '2021-02-30T00:00:00Z')).toThrow(RangeError);
        expect(() => compareInstants('x'.repeat(500), '2021-07-11T01:02:33Z')).toThrow(/"x{40}…"$/);
    });

    it('orders like the millisecond instants it is given', () => {
        fc.assert(
            fc.property(fc.date({ noInvalidDate: true, min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T00:00:00Z') }), fc.date({ noInvalidDate: true, min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T00:00:00Z') }), (a, b) => {
                expect(compareInstants(a.toISOString(), b.toISOString())).toBe(Math.sign(a.getTime() - b.getTime()) + 0);
            }),
        );
    });
});
