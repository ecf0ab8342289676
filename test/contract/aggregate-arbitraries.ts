/** fast-check generators of message bodies: mostly valid values, with invalid ones mixed in per property. */
import fc from 'fast-check';
import { CONTROL_CHARACTER_PATTERN } from '../../src/contract/aggregate';

const hex = '0123456789abcdef';

/** GUIDs in random letter case. */
export const guidArbitrary = fc
    .tuple(fc.uuid(), fc.array(fc.boolean(), { minLength: 36, maxLength: 36 }))
    .map(([uuid, upper]) => [...uuid].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(''));

const badGuidArbitrary = fc.oneof(
    fc.string({ maxLength: 40 }),
    guidArbitrary.map((g) => `{${g}}`),
    guidArbitrary.map((g) => ` ${g}`),
    guidArbitrary.map((g) => g.replace(/-/g, '')),
    guidArbitrary.map((g) => `${g.slice(0, 35)}g`),
    fc.constantFrom(null, 1, true, [], {}),
);

const whitespace = fc.constantFrom('', ' ', '  ', '\t', '\n', '\r\n', '\u00a0', '\u3000', '\ufeff');
const control = fc.constantFrom('\u0000', '\u0007', '\t', '\n', '\u001b', '\u007f', '\u0085', '\u009f');

function textArbitrary(max: number) {
    const core = fc.oneof(
        fc.string({ minLength: 1, maxLength: 20 }),
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
        fc.integer({ min: max - 2, max: max + 2 }).map((n) => 'x'.repeat(n)),
        fc.integer({ min: max - 2, max: max + 1 }).map((n) => '😀'.repeat(n)),
        fc.tuple(fc.string({ maxLength: 5 }), control, fc.string({ maxLength: 5 })).map(([a, c, b]) => `${a}x${c}x${b}`),
        fc.constant(''),
    );
    return fc.oneof(
        { weight: 4, arbitrary: fc.tuple(whitespace, core, whitespace).map(([a, s, b]) => `${a}${s}${b}`) },
        { weight: 1, arbitrary: fc.constantFrom(null, 0, false, ['x'], { x: 1 }) },
    );
}

const countArbitrary = fc.oneof(
    { weight: 3, arbitrary: fc.maxSafeNat() },
    { weight: 2, arbitrary: fc.maxSafeNat().map(String) },
    { weight: 1, arbitrary: fc.nat({ max: 99 }).map((n) => `00${n}`) },
    { weight: 1, arbitrary: fc.constantFrom(-0, -1, 1.5, 2 ** 53, Infinity, NaN, '9007199254740992', '1e3', ' 12', '+1', '0x10', '', '1.0') },
    { weight: 1, arbitrary: fc.oneof(fc.double(), fc.integer(), fc.string({ maxLength: 6 }), fc.constantFrom(null, true, [1], {})) },
);

const validOffsetArbitrary = fc.oneof(
    fc.constantFrom('Z', 'z', '+00:00', '-00:00'),
    fc.tuple(fc.constantFrom('+', '-'), fc.nat({ max: 23 }), fc.nat({ max: 59 })).map(([sign, h, m]) => `${sign}${pad(h)}:${pad(m)}`),
);

/** Real instants in RFC 3339 form with 0–7 fractional digits and any valid offset. */
const validTimestampArbitrary = fc
    .tuple(
        fc.date({ min: new Date('0002-01-01T00:00:00Z'), max: new Date('9998-12-31T23:59:59Z'), noInvalidDate: true }),
        fc.constantFrom('T', 't'),
        fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 7 }),
        validOffsetArbitrary,
    )
    .map(([date, t, fraction, offset]) => {
        const iso = date.toISOString();
        return `${iso.slice(0, 10)}${t}${iso.slice(11, 19)}${fraction === '' ? '' : `.${fraction}`}${offset}`;
    });

const timestampArbitrary = fc.oneof(
    { weight: 2, arbitrary: validTimestampArbitrary },
    { weight: 1, arbitrary: validTimestampArbitrary.map((text) => text.replace(/(\d{2})(Z|z|[+-]\d{2}:\d{2})$/, '$1.12345678$2')) },
    { weight: 1, arbitrary: validTimestampArbitrary.map((text) => text.replace(/(Z|z|[+-]\d{2}:\d{2})$/, '')) },
    { weight: 1, arbitrary: fc.constantFrom('0000-01-01T00:00:00Z', '9999-12-31T23:00:00-01:00', '2021-07-11T01:02:33+24:00', '2021-07-11T01:02:33+0100') },
    {
        weight: 2,
        arbitrary: fc
            .tuple(fc.integer({ min: 0, max: 9999 }), fc.nat({ max: 13 }), fc.nat({ max: 32 }), fc.nat({ max: 25 }), fc.nat({ max: 61 }), fc.nat({ max: 61 }))
            .map(([y, mo, d, h, mi, s]) => `${String(y).padStart(4, '0')}-${pad(mo)}-${pad(d)}T${pad(h)}:${pad(mi)}:${pad(s)}Z`),
    },
    { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom(null, 0, 'String (timestamp)')) },
);

function pad(n: number): string {
    return String(n).padStart(2, '0');
}

/** Bodies the contract accepts. */
export const validBodyArbitrary = fc.record({
    tenantId: guidArbitrary,
    tenantDisplayName: fc
        .tuple(whitespace, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }), whitespace)
        .map(([a, s, b]) => `${a}${s.replace(new RegExp(CONTROL_CHARACTER_PATTERN.source, 'g'), '').trim() || 'x'}${b}`),
    compliancePolicyId: guidArbitrary,
    compliancePolicyName: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 ,.()-]{0,255}$/),
    compliancePolicyType: fc.constantFrom('Unknown', 'windows10CompliancePolicy', 'x'.repeat(64)),
    compliancePolicyPlatform: fc.constantFrom('Windows10', 'android', 'iOS', 'macOS', 'all', ' Unknown '),
    numberOfCompliantDevices: fc.oneof(fc.maxSafeNat(), fc.maxSafeNat().map(String)),
    numberOfNonCompliantDevices: fc.oneof(fc.maxSafeNat(), fc.maxSafeNat().map(String)),
    numberOfErrorDevices: fc.oneof(fc.maxSafeNat(), fc.constant(-0)),
    policyModifiedDateTime: validTimestampArbitrary,
    lastRefreshedDateTime: validTimestampArbitrary,
});

const extraKeyArbitrary = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'Id', 'tenantid'), fc.string({ maxLength: 10 }));

type Mutation = { readonly set: string; readonly value: unknown } | { readonly remove: string } | { readonly extra: readonly string[] };

const mutationArbitrary: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ set: fc.constantFrom('tenantId', 'compliancePolicyId'), value: badGuidArbitrary }),
    fc.record({ set: fc.constantFrom('tenantDisplayName', 'compliancePolicyName'), value: textArbitrary(256) }),
    fc.record({ set: fc.constantFrom('compliancePolicyType', 'compliancePolicyPlatform'), value: textArbitrary(64) }),
    fc.record({ set: fc.constantFrom('numberOfCompliantDevices', 'numberOfNonCompliantDevices', 'numberOfErrorDevices'), value: countArbitrary }),
    fc.record({ set: fc.constantFrom('policyModifiedDateTime', 'lastRefreshedDateTime'), value: timestampArbitrary }),
    fc.record({ remove: fc.constantFrom('tenantId', 'numberOfErrorDevices', 'lastRefreshedDateTime') }),
    fc.record({ extra: fc.uniqueArray(extraKeyArbitrary, { minLength: 1, maxLength: 3 }) }),
);

/** Valid bodies with 0–3 changes that may or may not break them, plus optional `id` and `@odata.type` variants. */
export const bodyArbitrary = fc
    .tuple(
        validBodyArbitrary,
        fc.array(mutationArbitrary, { maxLength: 3 }),
        fc.constantFrom('none', 'none', 'match', 'upper', 'other', 'number'),
        fc.constantFrom(undefined, undefined, '#microsoft.graph.managedTenants.aggregatedPolicyCompliance', '#microsoft.graph.entity', 3),
    )
    .map(([valid, mutations, idKind, odataType]) => {
        let body: Record<string, unknown> = { ...valid };
        const id = `${valid.tenantId}_${valid.compliancePolicyId}`;
        if (idKind === 'match') body.id = id;
        if (idKind === 'upper') body.id = id.toUpperCase();
        if (idKind === 'other') body.id = `${hex}_${id}`;
        if (idKind === 'number') body.id = 12;
        if (odataType !== undefined) body['@odata.type'] = odataType;
        for (const mutation of mutations) {
            if ('set' in mutation) body[mutation.set] = mutation.value;
            else if ('remove' in mutation) delete body[mutation.remove];
            // Through JSON.parse, so that `__proto__` becomes an own property as it does on the wire.
            else body = { ...body, ...(JSON.parse(JSON.stringify(Object.fromEntries(mutation.extra.map((k, i) => [k, i])))) as object) };
        }
        return body;
    });
