/**
 * Hostile inputs, each with the verdict the contract (docs/contract.md) promises for it. Every case is a whole
 * Service Bus message: an AMQP body section (data bytes, an AMQP value or an AMQP sequence) plus application
 * properties, so the same corpus can be sent through the emulator to the worker and handed to the Functions adapter.
 */
import { MAX_BODY_BYTES } from '../../src/contract/aggregate';
import { aggregate, idOf } from '../e2e/stack';
import { seedPlaceholderAggregate } from '../contract/aggregate-factory';

export type Verdict = 'written' | 'MalformedBody' | 'SchemaViolation' | 'MessageTooLarge';

/** How the body travels: AMQP data section (bytes), AMQP value section, or AMQP sequence section. */
export type CorpusBody =
    | { readonly section: 'data'; readonly bytes: Buffer }
    | { readonly section: 'value'; readonly value: unknown }
    | { readonly section: 'sequence'; readonly lists: readonly unknown[][] };

/** Application property values of every AMQP type a producer might set. */
export type PropertyValue = string | number | boolean | Date | Buffer | null;

export interface CorpusCase {
    readonly name: string;
    readonly body: CorpusBody;
    readonly verdict: Verdict;
    /** The entity a `written` case ends up as (lower-case `{tenantId}_{compliancePolicyId}`). */
    readonly entityId?: string;
    readonly applicationProperties?: Readonly<Record<string, PropertyValue>>;
    /**
     * Where the Functions adapter legitimately differs: @azure/functions-extensions-servicebus 0.2.0-preview turns a
     * data section into UTF-8 text (lossy) and, for `application/json`, parses it before our decoder sees it.
     */
    readonly functions?: { readonly verdict: Verdict; readonly entityId?: string; readonly why: string };
}

/** The first entity number of the corpus; far from the numbers other suites use. */
const FIRST_KEY = 50_000;

/** The valid example body of docs/contract.md, verbatim. */
const DOCS_VALID_BODY = {
    tenantId: '34298981-4FC8-4974-9486-C8909ED1521B',
    tenantDisplayName: ' Fourth Coffee ',
    compliancePolicyId: '19a8d6a6-d87e-4059-85b3-c73bfc5cea15',
    compliancePolicyName: 'Baseline - Setup Compliance Policy for Windows devices',
    compliancePolicyType: 'Unknown',
    compliancePolicyPlatform: 'Windows10',
    numberOfCompliantDevices: 42,
    numberOfNonCompliantDevices: '3',
    numberOfErrorDevices: 0,
    policyModifiedDateTime: '2021-06-22T19:01:46+02:00',
    lastRefreshedDateTime: '2021-07-11T01:02:33.4452876Z',
};
const DOCS_VALID_ID = '34298981-4fc8-4974-9486-c8909ed1521b_19a8d6a6-d87e-4059-85b3-c73bfc5cea15';

const text = (value: string): CorpusBody => ({ section: 'data', bytes: Buffer.from(value, 'utf8') });
const bytes = (value: Buffer): CorpusBody => ({ section: 'data', bytes: value });
const json = (value: unknown): CorpusBody => text(JSON.stringify(value));

/** A deterministic byte soup (mulberry32), so a failure can be replayed. */
function pseudoRandomBytes(length: number, seed: number): Buffer {
    let state = seed >>> 0;
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = Math.imul(state ^ (state >>> 15), state | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
    }
    return out;
}

/**
 * A valid body padded with insignificant whitespace (between tokens) to exactly `size` UTF-8 bytes. Whitespace counts:
 * the limit is on the bytes the broker carried, measured before parsing, whatever they turn out to be.
 */
export function paddedBody(body: Record<string, unknown>, size: number): string {
    const compact = JSON.stringify(body);
    const padding = size - Buffer.byteLength(compact);
    if (padding < 0) throw new RangeError(`the body is already ${Buffer.byteLength(compact)} bytes`);
    return `{${' '.repeat(padding)}${compact.slice(1)}`;
}

/** Every hostile case, in a fixed order. Valid cases each write their own entity. */
export function hostileCorpus(): CorpusCase[] {
    const cases: CorpusCase[] = [];
    let next = FIRST_KEY;
    /** A valid body of a fresh entity, with `over` applied; `written` unless a verdict is given. */
    const variant = (name: string, over: Record<string, unknown>, verdict: Verdict, extra: Partial<CorpusCase> = {}): void => {
        const n = next++;
        const body = aggregate(n, '2026-12-01T10:00:00Z', over);
        cases.push({ name, body: json(body), verdict, ...(verdict === 'written' ? { entityId: idOf(n) } : {}), ...extra });
    };
    const raw = (name: string, body: CorpusBody, verdict: Verdict, extra: Partial<CorpusCase> = {}): void => {
        cases.push({ name, body, verdict, ...extra });
    };
    const fresh = () => {
        const n = next++;
        return { n, body: aggregate(n), id: idOf(n) };
    };

    // Copied from documentation.
    raw('Graph docs create example with its placeholders', json(seedPlaceholderAggregate), 'SchemaViolation');
    raw('contract docs valid example', json(DOCS_VALID_BODY), 'written', { entityId: DOCS_VALID_ID });
    raw(
        'contract docs invalid example (-1, Feb 29 2023, id "abc", color)',
        json({ ...DOCS_VALID_BODY, numberOfErrorDevices: -1, policyModifiedDateTime: '2023-02-29T10:00:00Z', id: 'abc', color: 'blue' }),
        'SchemaViolation',
    );
    raw('contract docs truncated example', text('{"tenantId": "34298981-4fc8-4974-9486-c8909ed1521b", "tenantDisplayName": "Fourth Cof'), 'MalformedBody');

    // Counts.
    const badCounts: [string, unknown][] = [
        ['true', true],
        ['null', null],
        ['an array', [1]],
        ['an object', { value: 1 }],
        ['"abc"', 'abc'],
        ['"1e3"', '1e3'],
        ['" 12"', ' 12'],
        ['"+1"', '+1'],
        ['"0x10"', '0x10'],
        ['""', ''],
        ['"1.0"', '1.0'],
        ['-1', -1],
        ['1.5', 1.5],
        ['1e308', 1e308],
        ['2^53', 2 ** 53],
        ['"9007199254740992" (2^53 as digits)', '9007199254740992'],
        ['"NaN"', 'NaN'],
    ];
    for (const [label, value] of badCounts) variant(`count ${label}`, { numberOfCompliantDevices: value }, 'SchemaViolation');
    {
        const { body } = fresh();
        const source = JSON.stringify(body).replace(/"numberOfCompliantDevices":\d+/, '"numberOfCompliantDevices":1e400');
        raw('count 1e400 in the JSON text (parses to Infinity)', text(source), 'SchemaViolation');
    }
    {
        const { body } = fresh();
        const source = JSON.stringify(body).replace(/"numberOfErrorDevices":\d+/, '"numberOfErrorDevices":18446744073709551616');
        raw('count 2^64 in the JSON text', text(source), 'SchemaViolation');
    }
    {
        const { body } = fresh();
        raw('count NaN literal in the JSON text', text(JSON.stringify(body).replace(/"numberOfErrorDevices":\d+/, '"numberOfErrorDevices":NaN')), 'MalformedBody');
    }
    {
        const { body, id } = fresh();
        raw('count -0 in the JSON text', text(JSON.stringify(body).replace(/"numberOfErrorDevices":\d+/, '"numberOfErrorDevices":-0')), 'written', {
            entityId: id,
        });
    }
    variant('count 2^53-1 as a number', { numberOfCompliantDevices: Number.MAX_SAFE_INTEGER }, 'written');
    variant('count 2^53-1 as digits', { numberOfNonCompliantDevices: '9007199254740991' }, 'written');
    variant('count "007" (leading zeros)', { numberOfErrorDevices: '007' }, 'written');

    // Date-times.
    const badTimes: [string, string | number][] = [
        ['month 13', '2021-13-01T00:00:00Z'],
        ['Feb 29 in a common year', '2023-02-29T10:00:00Z'],
        ['hour 24', '2021-07-11T24:00:00Z'],
        ['leap second', '2021-06-30T23:59:60Z'],
        ['no offset', '2021-07-11T01:02:33'],
        ['date only', '2021-07-11'],
        ['offset +24:00', '2021-07-11T01:02:33+24:00'],
        ['offset without colon', '2021-07-11T01:02:33+0100'],
        ['8 fractional digits', '2021-07-11T01:02:33.12345678Z'],
        ['year 0000', '0000-01-01T00:00:00Z'],
        ['year 10000 after conversion', '9999-12-31T23:00:00-01:00'],
        ['placeholder "String (timestamp)"', 'String (timestamp)'],
        ['an epoch number', 1625965353],
        ['an empty string', ''],
        ['an RFC 1123 date', 'Sun, 11 Jul 2021 01:02:33 GMT'],
    ];
    for (const [label, value] of badTimes) variant(`lastRefreshedDateTime ${label}`, { lastRefreshedDateTime: value }, 'SchemaViolation');
    variant('policyModifiedDateTime +14:00 on Feb 29 of a leap year', { policyModifiedDateTime: '2024-02-29T00:00:00+14:00' }, 'written');
    variant('lower-case t and z', { policyModifiedDateTime: '2021-07-11t01:02:33z' }, 'written');

    // GUIDs.
    const badGuids: [string, unknown][] = [
        ['in braces', '{11111111-2222-4333-8444-000000000001}'],
        ['without dashes', '11111111222243338444000000000001'],
        ['with a trailing space', '11111111-2222-4333-8444-000000000001 '],
        ['with a non-hex digit', '11111111-2222-4333-8444-00000000000g'],
        ['a number', 11111111],
        ['an empty string', ''],
    ];
    for (const [label, value] of badGuids) variant(`tenantId ${label}`, { tenantId: value }, 'SchemaViolation');
    {
        const n = next++;
        cases.push({
            name: 'compliancePolicyId in upper case',
            body: json(aggregate(n, undefined, { compliancePolicyId: String(aggregate(n).compliancePolicyId).toUpperCase() })),
            verdict: 'written',
            entityId: idOf(n),
        });
    }
    {
        const n = next++;
        cases.push({
            name: 'tenantId all zeros (the nil GUID is still a GUID)',
            body: json(aggregate(n, undefined, { tenantId: '00000000-0000-0000-0000-000000000000' })),
            verdict: 'written',
            entityId: `00000000-0000-0000-0000-000000000000_${String(aggregate(n).compliancePolicyId)}`,
        });
    }

    // Strings.
    const badNames: [string, unknown][] = [
        ['empty', ''],
        ['only spaces', '   '],
        ['only an ideographic space', '\u3000'],
        ['a NUL inside', 'Con\u0000toso'],
        ['an ESC inside', 'Con\u001btoso'],
        ['a C1 control (NEL) inside', 'Con\u0085toso'],
        ['10,000 characters', 'x'.repeat(10_000)],
        ['257 characters', 'y'.repeat(257)],
        ['null', null],
    ];
    for (const [label, value] of badNames) variant(`tenantDisplayName ${label}`, { tenantDisplayName: value }, 'SchemaViolation');
    variant('compliancePolicyType of 65 characters', { compliancePolicyType: 't'.repeat(65) }, 'SchemaViolation');
    variant('tenantDisplayName of 256 characters after trimming', { tenantDisplayName: `  ${'n'.repeat(256)}  ` }, 'written');
    variant('tenantDisplayName of 256 emoji (512 UTF-16 units)', { tenantDisplayName: '😀'.repeat(256) }, 'written');
    variant('names in several scripts', { tenantDisplayName: 'Café 東京 Ωmega', compliancePolicyName: 'שלום مرحبا' }, 'written');

    // Missing and extra fields.
    {
        const { body } = fresh();
        delete body.tenantId;
        raw('tenantId missing', json(body), 'SchemaViolation');
    }
    raw('an empty object', json({}), 'SchemaViolation');
    variant('an extra field', { color: 'blue' }, 'SchemaViolation');
    variant('"constructor" as a field', { constructor: { prototype: { polluted: true } } }, 'SchemaViolation');
    variant('"toString" as a field', { toString: 'x' }, 'SchemaViolation');
    {
        const { body } = fresh();
        raw('"__proto__" as a field (raw JSON text)', text(JSON.stringify(body).replace(/^\{/, '{"__proto__":{"polluted":true},')), 'SchemaViolation');
    }
    {
        const { body, id } = fresh();
        raw('a matching id in upper case', json({ ...body, id: id.toUpperCase() }), 'written', { entityId: id });
    }
    variant('an id for another entity', { id: 'abc' }, 'SchemaViolation');
    variant('@odata.type of another entity', { '@odata.type': '#microsoft.graph.entity' }, 'SchemaViolation');
    {
        const { body } = fresh();
        const unknown = Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`u${i}`, 0]));
        raw('5,000 unknown fields', json({ ...body, ...unknown }), 'SchemaViolation');
    }

    // Duplicate keys: JSON.parse keeps the last one, and the entity is built from the parsed value (never the raw text).
    {
        const { body, id } = fresh();
        const source = JSON.stringify(body).replace(/^\{/, '{"tenantId":"not-a-guid",');
        raw('duplicate tenantId: an invalid one first, the valid one last', text(source), 'written', { entityId: id });
    }
    {
        const { body } = fresh();
        raw('duplicate tenantId: the valid one first, an invalid one last', text(JSON.stringify(body).replace(/\}$/, ',"tenantId":"not-a-guid"}')), 'SchemaViolation');
    }

    // Bodies that are not an object.
    {
        const { body } = fresh();
        raw('an array holding a valid aggregate', json([body]), 'SchemaViolation');
    }
    raw('null', text('null'), 'SchemaViolation');
    raw('a number', text('42'), 'SchemaViolation');
    raw('true', text('true'), 'SchemaViolation');
    raw('a JSON string that is not an object', text('"hello"'), 'SchemaViolation', {
        functions: { verdict: 'MalformedBody', why: 'the extension has already unwrapped the JSON string, so our decoder sees the text hello' },
    });
    {
        const { body, id } = fresh();
        raw('a JSON string holding the valid JSON object (double-encoded)', json(JSON.stringify(body)), 'written', { entityId: id });
    }

    // Not JSON, or not UTF-8.
    raw('plain text', text('not json'), 'MalformedBody');
    raw('a lone brace', text('{'), 'MalformedBody');
    raw('single-quoted keys', text("{'tenantId': 'x'}"), 'MalformedBody');
    {
        const { body } = fresh();
        raw('a trailing comma', text(JSON.stringify(body).replace(/\}$/, ',}')), 'MalformedBody');
        raw('a JSON comment', text(`// aggregate\n${JSON.stringify(body)}`), 'MalformedBody');
        raw('a valid object then garbage', text(`${JSON.stringify(body)}x`), 'MalformedBody');
        raw('two objects back to back', text(`${JSON.stringify(body)}${JSON.stringify(body)}`), 'MalformedBody');
    }
    raw('invalid UTF-8 (a lone continuation byte)', bytes(Buffer.from([0x7b, 0x80, 0x7d])), 'MalformedBody');
    {
        const n = next++;
        const id = idOf(n);
        const [head, tail] = JSON.stringify(aggregate(n, undefined, { tenantDisplayName: 'CafeX' })).split('CafeX') as [string, string];
        raw(
            'a valid body with a Latin-1 byte inside a name',
            bytes(Buffer.concat([Buffer.from(`${head}Caf`), Buffer.from([0xe9]), Buffer.from(tail)])),
            'MalformedBody',
            { functions: { verdict: 'written', entityId: id, why: 'the extension decodes bytes as lossy UTF-8, so 0xE9 becomes U+FFFD' } },
        );
    }
    {
        const { body } = fresh();
        raw('UTF-16LE with a BOM', bytes(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(JSON.stringify(body), 'utf16le')])), 'MalformedBody');
        const be = Buffer.from(JSON.stringify(body), 'utf16le').swap16();
        raw('UTF-16BE with a BOM', bytes(Buffer.concat([Buffer.from([0xfe, 0xff]), be])), 'MalformedBody');
    }
    {
        const { body, id } = fresh();
        raw('a UTF-8 BOM before a valid body', bytes(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(body))])), 'written', {
            entityId: id,
        });
    }
    raw('an empty body', bytes(Buffer.alloc(0)), 'MalformedBody');
    raw('only whitespace', text(' \n\t\r\n '), 'MalformedBody');
    raw('a NUL byte', bytes(Buffer.from([0])), 'MalformedBody');
    for (const seed of [1, 2, 3]) raw(`random bytes (seed ${seed})`, bytes(pseudoRandomBytes(512, seed)), 'MalformedBody');

    // Size.
    {
        const { body, id } = fresh();
        raw('a valid body padded with whitespace to exactly 65,536 bytes', text(paddedBody(body, MAX_BODY_BYTES)), 'written', { entityId: id });
    }
    const parsedBeforeUs = {
        verdict: 'written' as const,
        why: 'the extension JSON.parses application/json bodies, and values a host has parsed are not measured',
    };
    {
        const { body, id } = fresh();
        raw('a valid body padded with whitespace to 65,537 bytes', text(paddedBody(body, MAX_BODY_BYTES + 1)), 'MessageTooLarge', {
            functions: { ...parsedBeforeUs, entityId: id },
        });
    }
    {
        const { body, id } = fresh();
        raw('a valid body padded with whitespace to 100 KiB', text(paddedBody(body, 100 * 1024)), 'MessageTooLarge', {
            functions: { ...parsedBeforeUs, entityId: id },
        });
    }
    variant('a 100 KiB tenantDisplayName', { tenantDisplayName: 'z'.repeat(100 * 1024) }, 'MessageTooLarge', {
        functions: { verdict: 'SchemaViolation', why: parsedBeforeUs.why },
    });
    raw('200 KiB of random bytes', bytes(pseudoRandomBytes(200 * 1024, 4)), 'MessageTooLarge');
    raw('65,537 bytes of text that is not JSON', text('x'.repeat(MAX_BODY_BYTES + 1)), 'MessageTooLarge');

    // Deep nesting, within the size limit.
    for (const depth of [5_000, 30_000]) {
        const { body } = fresh();
        const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
        raw(`${depth} levels of nesting in an unknown field`, text(JSON.stringify(body).replace(/\}$/, `,"nested":${nested}}`)), 'SchemaViolation');
    }
    {
        const { body } = fresh();
        const nested = `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`;
        raw('5,000 levels of objects in tenantId', text(JSON.stringify(body).replace(/"tenantId":"[^"]*"/, `"tenantId":${nested}`)), 'SchemaViolation');
    }

    // AMQP value and sequence bodies.
    raw('an AMQP value: a number', { section: 'value', value: 42 }, 'SchemaViolation');
    raw('an AMQP value: a list', { section: 'value', value: [1, 'two', null] }, 'SchemaViolation');
    raw('an AMQP value: a string that is not JSON', { section: 'value', value: 'not json' }, 'MalformedBody');
    raw('an AMQP value: binary garbage', { section: 'value', value: pseudoRandomBytes(64, 5) }, 'MalformedBody');
    {
        const { body, id } = fresh();
        raw('an AMQP value: a string holding a valid aggregate', { section: 'value', value: JSON.stringify(body) }, 'written', { entityId: id });
    }
    {
        const { body, id } = fresh();
        raw('an AMQP value: a map that is a valid aggregate', { section: 'value', value: body }, 'written', { entityId: id });
    }
    {
        const { body } = fresh();
        raw('an AMQP value: a map with a timestamp-typed date', { section: 'value', value: { ...body, lastRefreshedDateTime: new Date(0) } }, 'SchemaViolation');
    }
    raw('an AMQP sequence', { section: 'sequence', lists: [[1, 2], ['x']] }, 'SchemaViolation');

    // Application properties of odd types: they never change the verdict.
    const oddProperties: Record<string, PropertyValue> = {
        // The largest integers AMQP clients encode (as ulong and long); bigger integers make the producer's encoder throw.
        huge: 2 ** 63,
        hugeNegative: -(2 ** 62),
        infinite: Number.POSITIVE_INFINITY,
        notANumber: Number.NaN,
        when: new Date('2021-07-11T01:02:33Z'),
        nothing: null,
        binary: pseudoRandomBytes(32, 6),
        long: 'p'.repeat(10_000),
        'ci-attempt': 'abc',
        'ci-first-failure-at': 'not a date',
        'ci-attempt-history': 12,
    };
    {
        const { body, id } = fresh();
        raw('a valid body with application properties of odd types', json(body), 'written', { entityId: id, applicationProperties: oddProperties });
    }
    variant('an invalid body with application properties of odd types', { tenantId: 'nope' }, 'SchemaViolation', { applicationProperties: oddProperties });
    raw('non-JSON with application properties of odd types', text('nope'), 'MalformedBody', { applicationProperties: oddProperties });

    return cases;
}

/** The distinct entities a corpus writes on a host, by id. */
export function expectedEntityIds(cases: readonly CorpusCase[], host: 'worker' | 'functions'): Set<string> {
    const ids = new Set<string>();
    for (const c of cases) {
        const verdict = host === 'functions' && c.functions ? c.functions : c;
        if (verdict.verdict === 'written') ids.add(verdict.entityId ?? '');
    }
    return ids;
}

/** The verdict a host must reach for a case. */
export function verdictOn(c: CorpusCase, host: 'worker' | 'functions'): Verdict {
    return host === 'functions' && c.functions ? c.functions.verdict : c.verdict;
}
