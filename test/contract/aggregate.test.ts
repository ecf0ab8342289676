import { describe, expect, it } from 'vitest';
import { aggregatePropertyNames } from '../../src/contract/aggregate';
import { validateAggregate, validateWithSchema, type DecodeResult } from '../../src/contract/decode';
import { aggregateBody } from './aggregate-factory';

/** Validate through the public entry point, and check the valibot route alone agrees. */
function validate(overrides: Record<string, unknown>): DecodeResult {
    const body = aggregateBody(overrides);
    const result = validateAggregate(body);
    expect(validateWithSchema(body)).toEqual(result);
    return result;
}

function accepted(overrides: Record<string, unknown>): Record<string, unknown> {
    const result = validate(overrides);
    if (!result.ok) throw new Error(`expected acceptance, got ${result.description}`);
    return result.aggregate as unknown as Record<string, unknown>;
}

function rejected(overrides: Record<string, unknown>): readonly string[] {
    const result = validate(overrides);
    if (result.ok) throw new Error('expected a rejection');
    expect(result.reason).toBe('SchemaViolation');
    return result.issues;
}

describe('aggregatePropertyNames', () => {
    it('lists the 11 properties in the order of the Graph create request', () => {
        expect(aggregatePropertyNames).toEqual([
            'tenantId',
            'tenantDisplayName',
            'compliancePolicyId',
            'compliancePolicyName',
            'compliancePolicyType',
            'compliancePolicyPlatform',
            'numberOfCompliantDevices',
            'numberOfNonCompliantDevices',
            'numberOfErrorDevices',
            'policyModifiedDateTime',
            'lastRefreshedDateTime',
        ]);
    });
});

describe('GUIDs', () => {
    it.each(['tenantId', 'compliancePolicyId'])('%s is lower-cased', (name) => {
        expect(accepted({ [name]: '34298981-4FC8-4974-9486-C8909ED1521B' })[name]).toBe('34298981-4fc8-4974-9486-c8909ed1521b');
    });

    it.each([
        ['String', '"String"'],
        ['34298981-4fc8-4974-9486-c8909ed1521', '"34298981-4fc8-4974-9486-c8909ed1521"'],
        ['{34298981-4fc8-4974-9486-c8909ed1521b}', '"{34298981-4fc8-4974-9486-c8909ed1521b}"'],
        [' 34298981-4fc8-4974-9486-c8909ed1521b', '" 34298981-4fc8-4974-9486-c8909ed1521b"'],
        ['34298981-4fc8-4974-9486-c8909ed1521g', '"34298981-4fc8-4974-9486-c8909ed1521g"'],
        ['342989814fc8497494869486c8909ed1521b', '"342989814fc8497494869486c8909ed1521b"'],
        [42, '42'],
        [null, 'null'],
    ])('rejects %j', (value, shown) => {
        expect(rejected({ tenantId: value })).toEqual([`tenantId: must be a GUID (got ${shown})`]);
        expect(rejected({ compliancePolicyId: value })).toEqual([`compliancePolicyId: must be a GUID (got ${shown})`]);
    });
});

describe('names and labels', () => {
    const limits = [
        ['tenantDisplayName', 256],
        ['compliancePolicyName', 256],
        ['compliancePolicyType', 64],
        ['compliancePolicyPlatform', 64],
    ] as const;

    it.each(limits)('%s is trimmed and kept verbatim otherwise', (name) => {
        expect(accepted({ [name]: ' \t windows10AndLater \n' })[name]).toBe('windows10AndLater');
        expect(accepted({ [name]: 'Ünïcödé 名前 😀' })[name]).toBe('Ünïcödé 名前 😀');
    });

    it.each(limits)('%s takes 1 to %i characters after trimming', (name, max) => {
        expect(accepted({ [name]: 'x' })[name]).toBe('x');
        expect(accepted({ [name]: 'x'.repeat(max) })[name]).toBe('x'.repeat(max));
        expect(accepted({ [name]: `  ${'x'.repeat(max)}  ` })[name]).toBe('x'.repeat(max));
        // Characters are code points: an emoji (two UTF-16 units) counts once.
        expect(accepted({ [name]: '😀'.repeat(max) })[name]).toBe('😀'.repeat(max));
        expect(rejected({ [name]: 'x'.repeat(max + 1) })).toEqual([`${name}: must be at most ${max} characters after trimming (got ${max + 1})`]);
        expect(rejected({ [name]: '😀'.repeat(max + 1) })).toEqual([`${name}: must be at most ${max} characters after trimming (got ${max + 1})`]);
        expect(rejected({ [name]: '' })).toEqual([`${name}: must not be empty or only whitespace`]);
        expect(rejected({ [name]: ' \t\r\n\u00a0' })).toEqual([`${name}: must not be empty or only whitespace`]);
    });

    it.each(['\u0000', '\u0007', '\t', '\n', '\u001f', '\u007f', '\u0085', '\u009f'])('rejects the control character %j inside a value', (control) => {
        for (const [name] of limits) {
            expect(rejected({ [name]: `Fourth${control}Coffee` })).toEqual([`${name}: must not contain control characters`]);
        }
    });

    it.each([
        [12, '12'],
        [true, 'true'],
        [null, 'null'],
        [['a'], 'an array'],
        [{ a: 1 }, 'an object'],
    ])('rejects the non-string %j', (value, shown) => {
        expect(rejected({ compliancePolicyType: value })).toEqual([`compliancePolicyType: must be a string (got ${shown})`]);
    });
});

describe('counts', () => {
    const names = ['numberOfCompliantDevices', 'numberOfNonCompliantDevices', 'numberOfErrorDevices'];

    it.each([
        [0, 0],
        [-0, 0],
        [1, 1],
        [1e3, 1000],
        [9007199254740991, 9007199254740991],
        ['0', 0],
        ['42', 42],
        ['007', 7],
        ['9007199254740991', 9007199254740991],
    ])('accepts %j as %i', (value, expected) => {
        for (const name of names) expect(Object.is(accepted({ [name]: value })[name], expected)).toBe(true);
    });

    it.each([
        [-1, '-1'],
        [1.5, '1.5'],
        [9007199254740992, '9007199254740992'],
        [Number.POSITIVE_INFINITY, 'Infinity'],
        [Number.NaN, 'NaN'],
        ['9007199254740992', '"9007199254740992"'],
        ['99999999999999999999', '"99999999999999999999"'],
        ['1e3', '"1e3"'],
        [' 12', '" 12"'],
        ['12 ', '"12 "'],
        ['+1', '"+1"'],
        ['-1', '"-1"'],
        ['0x10', '"0x10"'],
        ['1.0', '"1.0"'],
        ['', '""'],
        ['Integer', '"Integer"'],
        [true, 'true'],
        [null, 'null'],
        [[1], 'an array'],
        [{}, 'an object'],
    ])('rejects %j', (value, shown) => {
        for (const name of names) expect(rejected({ [name]: value })).toEqual([`${name}: must be a non-negative integer (got ${shown})`]);
    });
});

describe('timestamps', () => {
    const names = ['policyModifiedDateTime', 'lastRefreshedDateTime'];

    it.each([
        ['2021-07-11T01:02:33.4452876Z', '2021-07-11T01:02:33.4452876Z'],
        ['2021-07-11T01:02:33.4452870Z', '2021-07-11T01:02:33.4452870Z'],
        ['2021-07-11t01:02:33.1z', '2021-07-11T01:02:33.1Z'],
        ['2021-07-10T22:02:33-03:00', '2021-07-11T01:02:33Z'],
        ['2021-12-31T22:00:00.1234567-05:00', '2022-01-01T03:00:00.1234567Z'],
        ['2021-03-01T01:00:00+02:00', '2021-02-28T23:00:00Z'],
        ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00Z'],
    ])('accepts %s as %s', (value, expected) => {
        for (const name of names) expect(accepted({ [name]: value })[name]).toBe(expected);
    });

    it.each([
        ['2021-07-11T01:02:33.44528761Z', 'must have at most 7 fractional digits'],
        ['2023-02-29T00:00:00Z', 'must be a real calendar date and time'],
        ['2021-02-30T00:00:00Z', 'must be a real calendar date and time'],
        ['2021-13-01T00:00:00Z', 'must be a real calendar date and time'],
        ['2021-01-01T24:00:00Z', 'must be a real calendar date and time'],
        ['2021-07-11T01:02:33', 'must have an explicit offset (Z or ±hh:mm)'],
        ['0000-01-01T00:00:00Z', 'must fall within the years 0001–9999 in UTC'],
        ['String (timestamp)', 'must be an RFC 3339 date-time with an offset, like 2021-07-11T01:02:33.4452876Z'],
    ])('rejects %s: %s', (value, problem) => {
        for (const name of names) expect(rejected({ [name]: value })).toEqual([`${name}: ${problem} (got ${JSON.stringify(value)})`]);
    });

    it.each([
        [1625965353, '1625965353'],
        [null, 'null'],
    ])('rejects the non-string %j', (value, shown) => {
        expect(rejected({ lastRefreshedDateTime: value })).toEqual([`lastRefreshedDateTime: must be an RFC 3339 date-time string (got ${shown})`]);
    });
});

describe('id and @odata.type', () => {
    it('accepts a matching id in any case and drops it from the aggregate', () => {
        const id = '34298981-4FC8-4974-9486-C8909ED1521B_19A8D6A6-D87E-4059-85B3-C73BFC5CEA15';
        const aggregate = accepted({ id, tenantId: '34298981-4fc8-4974-9486-C8909ED1521B' });
        expect(aggregate).not.toHaveProperty('id');
        expect(Object.keys(aggregate)).toEqual(aggregatePropertyNames);
    });

    it('rejects an id for another entity, or of the wrong type', () => {
        expect(rejected({ id: '19a8d6a6-d87e-4059-85b3-c73bfc5cea15_34298981-4fc8-4974-9486-c8909ed1521b' })).toEqual([
            'id: must equal {tenantId}_{compliancePolicyId} (got "19a8d6a6-d87e-4059-85b3-c73bfc5cea15_342…")',
        ]);
        expect(rejected({ id: '1c33c14c-c14c-1c33-4cc1-331c4cc1331c' })).toEqual([
            'id: must equal {tenantId}_{compliancePolicyId} (got "1c33c14c-c14c-1c33-4cc1-331c4cc1331c")',
        ]);
        expect(rejected({ id: 7 })).toEqual(['id: must be a string (got 7)']);
    });

    it('does not second-guess the id when a GUID it is built from is itself wrong', () => {
        expect(rejected({ tenantId: 'String', id: 'whatever' })).toEqual(['tenantId: must be a GUID (got "String")']);
    });

    it('accepts the entity type and nothing else', () => {
        expect(accepted({ '@odata.type': '#microsoft.graph.managedTenants.aggregatedPolicyCompliance' })).not.toHaveProperty('@odata.type');
        expect(rejected({ '@odata.type': 'microsoft.graph.managedTenants.aggregatedPolicyCompliance' })).toEqual([
            '@odata.type: must be "#microsoft.graph.managedTenants.aggregatedPolicyCompliance" (got "microsoft.graph.managedTenants.aggregate…")',
        ]);
        expect(rejected({ '@odata.type': '#microsoft.graph.managedTenants.AggregatedPolicyCompliance' })).toHaveLength(1);
    });
});

describe('required and unknown properties', () => {
    it('names every missing property', () => {
        expect(rejected({ tenantId: undefined, lastRefreshedDateTime: undefined })).toEqual([
            'tenantId: is required',
            'lastRefreshedDateTime: is required',
        ]);
    });

    it('lists every unknown property by name, including prototype names, without polluting prototypes', () => {
        const body = JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}, "toString": 1, "extra": 2}');
        const result = validateAggregate({ ...aggregateBody(), ...body });
        expect(result).toMatchObject({ ok: false, reason: 'SchemaViolation' });
        // Spreading drops nothing here: JSON.parse made __proto__ an own property and spread copies own properties.
        expect(!result.ok && result.issues).toEqual([
            '__proto__: is not a property of aggregatedPolicyCompliance',
            'constructor: is not a property of aggregatedPolicyCompliance',
            'toString: is not a property of aggregatedPolicyCompliance',
            'extra: is not a property of aggregatedPolicyCompliance',
        ]);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('quotes and caps odd or long property names', () => {
        expect(rejected({ ['k'.repeat(100)]: 1, 'a b\n': 2 })).toEqual([
            `"${'k'.repeat(40)}…": is not a property of aggregatedPolicyCompliance`,
            '"a b\\n": is not a property of aggregatedPolicyCompliance',
        ]);
    });

    it('reports field issues and unknown properties together', () => {
        expect(rejected({ numberOfErrorDevices: -1, color: 'blue' })).toEqual([
            'numberOfErrorDevices: must be a non-negative integer (got -1)',
            'color: is not a property of aggregatedPolicyCompliance',
        ]);
    });
});

describe('values that are not objects', () => {
    it.each([
        [[], 'an array'],
        [null, 'null'],
        [42, '42'],
        ['{}', '"{}"'],
        [true, 'true'],
        [new Date(0), 'an object'],
        [new Map(), 'an object'],
    ])('rejects %j', (value, shown) => {
        const result = validateAggregate(value);
        expect(result).toEqual({
            ok: false,
            reason: 'SchemaViolation',
            description: `body must be a JSON object (got ${shown})`,
            issues: [`body must be a JSON object (got ${shown})`],
        });
        expect(validateWithSchema(value)).toEqual(result);
    });

    it('accepts an object without a prototype', () => {
        expect(validateAggregate(Object.assign(Object.create(null) as object, aggregateBody())).ok).toBe(true);
    });
});
