import { ManagedIdentityCredential } from '@azure/identity';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';

import { codePointLength, CONTROL_CHARACTER_PATTERN, MAX_LABEL_LENGTH, MAX_NAME_LENGTH } from '../../src/contract/aggregate';
import { decodeAggregate } from '../../src/contract/decode';
import { ENTITY_ODATA_TYPE, toEntity } from '../../src/entity';
import { startGraphStandIn, type GraphStandIn } from '../../src/emulators/graph';
import { startIdentityStandIn, type IdentityStandIn } from '../../src/emulators/identity';
import { COLLECTION_PATH } from '../../src/graph/write-rules';

let identity: IdentityStandIn;
let graph: GraphStandIn;
let token: string;
beforeAll(async () => {
    identity = await startIdentityStandIn();
    graph = await startGraphStandIn({ identity: identity.verificationKey() });
    for (const k of ['IDENTITY_SERVER_THUMBPRINT', 'MSI_ENDPOINT', 'MSI_SECRET', 'IMDS_ENDPOINT']) delete process.env[k];
    process.env.IDENTITY_ENDPOINT = identity.endpoint;
    process.env.IDENTITY_HEADER = identity.header;
    token = (await new ManagedIdentityCredential().getToken('https://graph.microsoft.com/.default')).token;
});
afterAll(async () => {
    await Promise.all([graph.close(), identity.close()]);
});

// A few fixed GUIDs, drawn often, so some aggregates repeat an entity id (in another letter case).
const fixedGuids = ['5b1c9f7e-1d2a-4c3b-9e8f-0a1b2c3d4e5f', 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee'];
const guid = fc.mixedCase(fc.oneof(fc.uuid(), fc.constantFrom(...fixedGuids)));

/** Contract text: trimmed, then 1..max code points without control characters; padding around it is allowed. */
function text(max: number) {
    const padding = fc.constantFrom('', ' ', '  ', '\t', '\n', '\u00a0', '\u3000');
    const core = fc.oneof(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
        fc.string({ unit: 'grapheme-ascii', minLength: max, maxLength: max }),
        fc.string({ unit: fc.constantFrom('é', 'ß', '日', '本', '🙂', '👩‍💻', 'x'), minLength: 1, maxLength: max }),
    );
    return fc
        .tuple(padding, core, padding)
        .filter(([, c]) => {
            const trimmed = c.trim();
            return trimmed.length > 0 && codePointLength(trimmed) <= max && !CONTROL_CHARACTER_PATTERN.test(trimmed);
        })
        .map(([before, c, after]) => `${before}${c}${after}`);
}

/** Counts as JSON numbers or digit strings (leading zeros allowed), up to 2^53−1. */
const count = fc.oneof(
    fc.maxSafeNat(),
    fc.constantFrom(0, Number.MAX_SAFE_INTEGER),
    fc.tuple(fc.constantFrom('', '0', '00'), fc.maxSafeNat()).map(([zeros, n]) => `${zeros}${n}`),
    fc.constant(String(Number.MAX_SAFE_INTEGER)),
);

const two = (n: number) => String(n).padStart(2, '0');
/** RFC 3339 with an offset (Z, z or ±hh:mm), `T` or `t`, 0–7 fraction digits; years kept where no offset leaves 0001–9999. */
const timestamp = fc.oneof(
    fc
        .record({
            year: fc.integer({ min: 2, max: 9998 }),
            month: fc.integer({ min: 1, max: 12 }),
            day: fc.integer({ min: 1, max: 28 }),
            hour: fc.integer({ min: 0, max: 23 }),
            minute: fc.integer({ min: 0, max: 59 }),
            second: fc.integer({ min: 0, max: 59 }),
            fraction: fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 7 }),
            t: fc.constantFrom('T', 't'),
            offset: fc.oneof(
                fc.constantFrom('Z', 'z'),
                fc
                    .tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
                    .map(([sign, h, m]) => `${sign}${two(h)}:${two(m)}`),
            ),
        })
        .map((f) => {
            const date = `${String(f.year).padStart(4, '0')}-${two(f.month)}-${two(f.day)}`;
            const time = `${two(f.hour)}:${two(f.minute)}:${two(f.second)}${f.fraction ? `.${f.fraction}` : ''}`;
            return `${date}${f.t}${time}${f.offset}`;
        }),
    fc.constantFrom(
        '0001-01-01T00:00:00Z',
        '9999-12-31T23:59:59.9999999Z',
        '2024-02-29T23:59:59.1234567+14:00',
        '2021-07-11T01:02:33.4452876z',
    ),
);

const aggregate = fc
    .record({
        tenantId: guid,
        tenantDisplayName: text(MAX_NAME_LENGTH),
        compliancePolicyId: guid,
        compliancePolicyName: text(MAX_NAME_LENGTH),
        compliancePolicyType: text(MAX_LABEL_LENGTH),
        compliancePolicyPlatform: text(MAX_LABEL_LENGTH),
        numberOfCompliantDevices: count,
        numberOfNonCompliantDevices: count,
        numberOfErrorDevices: count,
        policyModifiedDateTime: timestamp,
        lastRefreshedDateTime: timestamp,
        withId: fc.boolean(),
        withType: fc.boolean(),
    })
    .map(({ withId, withType, ...body }) => ({
        ...body,
        ...(withId ? { id: `${body.tenantId}_${body.compliancePolicyId}`.toUpperCase() } : {}),
        ...(withType ? { '@odata.type': ENTITY_ODATA_TYPE } : {}),
    }));

it('every valid aggregate becomes an entity the Graph stand-in creates (201), or finds already there (409), never a 400', async () => {
    const created = new Set<string>();
    const statuses: Record<string, number> = {};
    await fc.assert(
        fc.asyncProperty(aggregate, async (body) => {
            const decoded = decodeAggregate(JSON.stringify(body));
            if (!decoded.ok) throw new Error(`valid aggregate refused: ${decoded.description}`);
            const entity = toEntity(decoded.aggregate);
            const res = await fetch(`${graph.baseUrl}/v1.0${COLLECTION_PATH}`, {
                method: 'POST',
                headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
                body: JSON.stringify(entity),
            });
            const answer = await res.text();
            statuses[res.status] = (statuses[res.status] ?? 0) + 1;
            const repeated = created.has(entity.id);
            // The answer is compared too, so a failure shows Graph's error message.
            const got = { status: res.status, answer: res.status === 201 || repeated ? '' : answer };
            expect(got).toEqual({ status: repeated ? 409 : 201, answer: '' });
            created.add(entity.id);
        }),
        { numRuns: 200 },
    );
    // The fixed GUIDs make repeats likely: both answers must have been seen for the property to mean anything.
    expect(statuses['201']).toBeGreaterThan(0);
    expect(statuses['409']).toBeGreaterThan(0);
});
