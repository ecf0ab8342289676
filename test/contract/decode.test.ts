import { describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../src/contract/aggregate';
import { decodeAggregate } from '../../src/contract/decode';
import { aggregateBody } from './aggregate-factory';

const expected = {
    ...aggregateBody(),
    tenantId: '34298981-4fc8-4974-9486-c8909ed1521b',
};

/** The seed's own request example (docs' placeholders), verbatim. */
const seedExample = `{
  "@odata.type": "#microsoft.graph.managedTenants.aggregatedPolicyCompliance",
  "tenantId": "String",
  "tenantDisplayName": "String",
  "compliancePolicyId": "String",
  "compliancePolicyName": "String",
  "compliancePolicyType": "String",
  "compliancePolicyPlatform": "String",
  "numberOfCompliantDevices": "Integer",
  "numberOfNonCompliantDevices": "Integer",
  "numberOfErrorDevices": "Integer",
  "policyModifiedDateTime": "String (timestamp)",
  "lastRefreshedDateTime": "String (timestamp)"
}`;

/** A valid body padded (inside a name's surrounding whitespace, which is trimmed) to exactly `bytes` UTF-8 bytes. */
function bodyOfBytes(bytes: number): string {
    const base = JSON.stringify(aggregateBody({ tenantDisplayName: 'Fourth Coffee' }));
    const padding = bytes - Buffer.byteLength(base);
    return base.replace('"Fourth Coffee"', `"Fourth Coffee${' '.repeat(padding)}"`);
}

function failureOf(body: unknown) {
    const result = decodeAggregate(body);
    if (result.ok) throw new Error('expected a failure');
    return result;
}

describe('decodeAggregate: body forms', () => {
    const json = JSON.stringify(aggregateBody());

    it.each([
        ['a Buffer', Buffer.from(json)],
        ['a Uint8Array', new TextEncoder().encode(json)],
        ['an ArrayBuffer', new TextEncoder().encode(json).buffer],
        ['a string', json],
        ['a parsed object', aggregateBody()],
        ['a Buffer with a UTF-8 BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json)])],
        ['a string with a BOM', `\ufeff${json}`],
        ['a double-encoded string', JSON.stringify(json)],
        ['a double-encoded Buffer', Buffer.from(JSON.stringify(json))],
        ['JSON with surrounding whitespace', `\n  ${json}\r\n`],
    ])('decodes %s', (_, body) => {
        expect(decodeAggregate(body)).toEqual({ ok: true, aggregate: expected });
    });

    it('decodes UTF-8 text beyond ASCII', () => {
        const body = Buffer.from(JSON.stringify(aggregateBody({ tenantDisplayName: 'Café 東京 😀' })));
        expect(decodeAggregate(body)).toMatchObject({ ok: true, aggregate: { tenantDisplayName: 'Café 東京 😀' } });
    });

    it('unwraps one level of encoding only', () => {
        expect(failureOf(JSON.stringify(JSON.stringify(json)))).toMatchObject({
            reason: 'SchemaViolation',
            issues: ['body must be a JSON object (got a JSON string)'],
        });
    });

    it.each([
        ['an array', '[1, 2]', 'body must be a JSON object (got an array)'],
        ['null', 'null', 'body must be a JSON object (got null)'],
        ['a number', '42', 'body must be a JSON object (got 42)'],
        ['a string', '"hello"', 'body must be a JSON object (got a JSON string)'],
        ['a string holding an array', JSON.stringify('[1]'), 'body must be a JSON object (got a JSON string)'],
        ['a string holding broken JSON', JSON.stringify('{"tenantId": '), 'body must be a JSON object (got a JSON string)'],
        ['an already-parsed null', null, 'body must be a JSON object (got null)'],
        ['an already-parsed number', 7, 'body must be a JSON object (got 7)'],
    ])('rejects %s as a SchemaViolation', (_, body, issue) => {
        expect(decodeAggregate(body)).toEqual({ ok: false, reason: 'SchemaViolation', description: issue, issues: [issue] });
    });
});

describe('decodeAggregate: malformed bodies', () => {
    it.each([
        ['an empty Buffer', Buffer.alloc(0), 'body is empty'],
        ['an empty string', '', 'body is empty'],
        ['no body at all', undefined, 'body is empty'],
        ['whitespace only', ' \r\n\t ', 'body is only whitespace'],
        ['a BOM only', Buffer.from([0xef, 0xbb, 0xbf]), 'body is empty'],
        ['invalid UTF-8', Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), 'body is not valid UTF-8'],
        ['a lone continuation byte', Buffer.from([0x7b, 0x80, 0x7d]), 'body is not valid UTF-8'],
        ['a UTF-16LE BOM', Buffer.from('\ufeff{}', 'utf16le'), 'body is UTF-16 (it starts with a UTF-16 byte order mark); send UTF-8'],
        ['a UTF-16BE BOM', Buffer.from([0xfe, 0xff, 0x00, 0x7b, 0x00, 0x7d]), 'body is UTF-16 (it starts with a UTF-16 byte order mark); send UTF-8'],
        ['non-JSON', 'tenantId=abc', 'body is not valid JSON (Unexpected token'],
        ['truncated JSON', JSON.stringify(aggregateBody()).slice(0, 100), 'body is not valid JSON ('],
        ['trailing garbage', `${JSON.stringify(aggregateBody())}}`, 'body is not valid JSON ('],
    ])('rejects %s', (_, body, issue) => {
        const failure = failureOf(body);
        expect(failure.reason).toBe('MalformedBody');
        expect(failure.issues).toHaveLength(1);
        expect(failure.issues[0]).toContain(issue);
        expect(failure.description).toBe(failure.issues[0]);
    });

    it('never echoes more than a snippet of a non-JSON body', () => {
        const failure = failureOf(`{"secret": ${'x'.repeat(5000)}}`);
        expect(failure.description.length).toBeLessThan(140);
    });

    it('does not throw for exotic values', () => {
        const hostile = new Proxy({}, { getPrototypeOf: () => { throw new Error('boom'); } });
        expect(decodeAggregate(hostile)).toEqual({ ok: false, reason: 'MalformedBody', description: 'body could not be read', issues: ['body could not be read'] });
    });

    it('copes with deeply nested values in unknown or wrong-typed fields', () => {
        const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
        const failure = failureOf(JSON.stringify(aggregateBody()).replace('"numberOfErrorDevices":0', `"numberOfErrorDevices":${deep},"nested":${deep}`));
        expect(failure.issues).toEqual([
            'numberOfErrorDevices: must be a non-negative integer (got an array)',
            'nested: is not a property of aggregatedPolicyCompliance',
        ]);
    });
});

describe('decodeAggregate: size limit', () => {
    it('accepts exactly 65,536 bytes and rejects 65,537, counting UTF-8 bytes', () => {
        expect(Buffer.byteLength(bodyOfBytes(MAX_BODY_BYTES))).toBe(65_536);
        expect(decodeAggregate(Buffer.from(bodyOfBytes(MAX_BODY_BYTES))).ok).toBe(true);
        expect(decodeAggregate(bodyOfBytes(MAX_BODY_BYTES)).ok).toBe(true);
        const tooLarge = { ok: false, reason: 'MessageTooLarge', description: 'body is 65537 bytes; the limit is 65536 bytes' };
        expect(decodeAggregate(Buffer.from(bodyOfBytes(MAX_BODY_BYTES + 1)))).toMatchObject(tooLarge);
        expect(decodeAggregate(bodyOfBytes(MAX_BODY_BYTES + 1))).toMatchObject(tooLarge);
    });

    it('counts bytes, not characters, for strings', () => {
        // 30,000 three-byte characters: 90,000 bytes in fewer than 65,536 UTF-16 units.
        const body = JSON.stringify(aggregateBody({ tenantDisplayName: '東'.repeat(30_000) }));
        expect(body.length).toBeLessThan(MAX_BODY_BYTES);
        expect(failureOf(body).reason).toBe('MessageTooLarge');
        expect(failureOf(body).description).toBe(`body is ${Buffer.byteLength(body)} bytes; the limit is 65536 bytes`);
    });

    it('rejects oversized bodies before looking at them', () => {
        expect(failureOf(Buffer.alloc(MAX_BODY_BYTES + 1, 0xff)).reason).toBe('MessageTooLarge');
        expect(failureOf('x'.repeat(1_000_000)).description).toBe('body is 1000000 bytes; the limit is 65536 bytes');
    });
});

describe('decodeAggregate: descriptions', () => {
    it('dead-letters the seed example, naming each bad field', () => {
        const failure = failureOf(Buffer.from(seedExample));
        expect(failure.reason).toBe('SchemaViolation');
        expect(failure.issues).toEqual([
            'tenantId: must be a GUID (got "String")',
            'compliancePolicyId: must be a GUID (got "String")',
            'numberOfCompliantDevices: must be a non-negative integer (got "Integer")',
            'numberOfNonCompliantDevices: must be a non-negative integer (got "Integer")',
            'numberOfErrorDevices: must be a non-negative integer (got "Integer")',
            'policyModifiedDateTime: must be an RFC 3339 date-time with an offset, like 2021-07-11T01:02:33.4452876Z (got "String (timestamp)")',
            'lastRefreshedDateTime: must be an RFC 3339 date-time with an offset, like 2021-07-11T01:02:33.4452876Z (got "String (timestamp)")',
        ]);
        expect(failure.description).toBe(failure.issues.join('; '));
    });

    it('spells out 10 issues, then counts the rest', () => {
        const unknown = Object.fromEntries(Array.from({ length: 13 }, (_, i) => [`extra${i}`, i]));
        const failure = failureOf(aggregateBody(unknown));
        expect(failure.issues).toHaveLength(13);
        expect(failure.description).toBe(
            `${failure.issues.slice(0, 10).join('; ')} (+3 more)`,
        );
    });

    it('stays within 1024 characters and keeps the count when issues are long', () => {
        const long = 'x'.repeat(10_000);
        const failure = failureOf(
            aggregateBody({
                tenantId: long,
                compliancePolicyId: long,
                tenantDisplayName: 1,
                compliancePolicyName: 1,
                compliancePolicyType: 1,
                compliancePolicyPlatform: 1,
                numberOfCompliantDevices: long,
                numberOfNonCompliantDevices: long,
                numberOfErrorDevices: long,
                policyModifiedDateTime: long,
                lastRefreshedDateTime: long,
                id: 1,
                '@odata.type': long,
                [long]: 1,
            }),
        );
        expect(failure.issues).toHaveLength(14);
        expect(failure.description.length).toBeLessThanOrEqual(1024);
        expect(failure.description).toMatch(/; [^;]+ \(\+\d+ more\)$/);
        expect(failure.description).not.toContain('x'.repeat(41));
        expect(failure.issues.join('\n')).not.toContain('x'.repeat(41));
    });

    it('lists thousands of unknown properties without trouble', () => {
        const many = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i]));
        const failure = failureOf(JSON.stringify(aggregateBody(many)));
        expect(failure.issues).toHaveLength(5000);
        expect(failure.description).toMatch(/^k0: is not a property of aggregatedPolicyCompliance; .* \(\+4990 more\)$/);
    });
});
