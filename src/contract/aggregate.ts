/**
 * The inbound contract: one device compliance aggregate per message, using the Graph entity's own property
 * names. This valibot schema is the source of truth for the rules, the issue messages and the exported JSON
 * Schema; `decode.ts` adds a faster route for valid bodies that is tested to give identical results.
 */
import * as v from 'valibot';
import { ENTITY_ODATA_TYPE } from '../entity';
import { describeKey, describeValue } from './issues';
import { normaliseTimestamp, TIMESTAMP_PATTERN, timestampProblem } from './timestamp';

/** Bodies longer than this many UTF-8 bytes are dead-lettered as `MessageTooLarge` without being parsed. */
export const MAX_BODY_BYTES = 65_536;
export const MAX_NAME_LENGTH = 256;
export const MAX_LABEL_LENGTH = 64;
export const MAX_COUNT = Number.MAX_SAFE_INTEGER;

export interface ComplianceAggregate {
    readonly tenantId: string;
    readonly tenantDisplayName: string;
    readonly compliancePolicyId: string;
    readonly compliancePolicyName: string;
    readonly compliancePolicyType: string;
    readonly compliancePolicyPlatform: string;
    readonly numberOfCompliantDevices: number;
    readonly numberOfNonCompliantDevices: number;
    readonly numberOfErrorDevices: number;
    readonly policyModifiedDateTime: string;
    readonly lastRefreshedDateTime: string;
}

/** The 11 properties of an aggregate, in the order of Graph's create request body. */
export const aggregatePropertyNames: readonly string[] = [
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
] satisfies (keyof ComplianceAggregate)[];

/** Every property a body may carry: the aggregate's own plus the optional `id` and `@odata.type`. */
export const acceptedPropertyNames: ReadonlySet<string> = new Set([...aggregatePropertyNames, 'id', '@odata.type']);

export const GUID_PATTERN = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;
export const DIGITS_PATTERN = /^[0-9]+$/;
// C0 controls, DEL and C1 controls.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
export const CONTROL_CHARACTER_PATTERN = /[\u0000-\u001f\u007f-\u009f]/;

/** True when `text` has at most `max` Unicode code points (what JSON Schema's maxLength counts). */
export function hasAtMostCodePoints(text: string, max: number): boolean {
    if (text.length <= max) return true;
    if (text.length > 2 * max) return false;
    return codePointLength(text) <= max;
}

export function codePointLength(text: string): number {
    let length = text.length;
    for (let i = 0; i < text.length - 1; i++) {
        const unit = text.charCodeAt(i);
        if (unit >= 0xd800 && unit <= 0xdbff) {
            const next = text.charCodeAt(i + 1);
            if (next >= 0xdc00 && next <= 0xdfff) {
                length -= 1;
                i += 1;
            }
        }
    }
    return length;
}

/** A digit string or number that is a whole count Graph can store as Int64 and JSON can carry exactly. */
export function isSafeDigitString(text: string): boolean {
    return Number.isSafeInteger(Number(text));
}

/** Counts arrive as numbers or digit strings; both become numbers, and -0 becomes 0. */
export function toCount(value: number | string): number {
    return (typeof value === 'number' ? value : Number(value)) + 0;
}

type Message = (issue: v.BaseIssue<unknown>) => string;

const guidMessage: Message = (issue) => `must be a GUID (got ${describeValue(issue.input)})`;
const textMessage: Message = (issue) => `must be a string (got ${describeValue(issue.input)})`;
const countMessage: Message = (issue) => `must be a non-negative integer (got ${describeValue(issue.input)})`;
const timestampMessage: Message = (issue) => describeTimestampProblem(issue.input);

function describeTimestampProblem(input: unknown): string {
    const problem = typeof input === 'string' ? timestampProblem(input) : 'must be an RFC 3339 date-time string';
    return `${problem} (got ${describeValue(input)})`;
}

function guid(subject: string) {
    const description = `${subject}: a GUID in any case, stored lower-case.`;
    return v.pipe(v.string(guidMessage), v.regex(GUID_PATTERN, guidMessage), v.description(description), v.toLowerCase());
}

function trimmedText(maxLength: number, subject: string) {
    const description = `${subject}: trimmed, then 1–${maxLength} characters with no control characters.`;
    return v.pipe(
        v.string(textMessage),
        v.description(description),
        v.trim(),
        v.minLength(1, 'must not be empty or only whitespace'),
        v.check(
            (text) => hasAtMostCodePoints(text, maxLength),
            (issue) => `must be at most ${maxLength} characters after trimming (got ${codePointLength(issue.input)})`,
        ),
        v.check((text) => !CONTROL_CHARACTER_PATTERN.test(text), 'must not contain control characters'),
    );
}

function count(subject: string) {
    const description = `${subject}: a non-negative integer up to 2^53−1, as a JSON number or a string of decimal digits (IEEE754Compatible).`;
    return v.pipe(
        v.union(
            [
                v.pipe(v.number(countMessage), v.safeInteger(countMessage), v.minValue(0, countMessage)),
                v.pipe(v.string(countMessage), v.regex(DIGITS_PATTERN, countMessage), v.check(isSafeDigitString, countMessage)),
            ],
            countMessage,
        ),
        v.description(description),
        v.transform(toCount),
    );
}

function timestamp(subject: string) {
    const description =
        `${subject}: an RFC 3339 date-time with an offset (Z or ±hh:mm) and at most 7 fractional digits; ` +
        'stored in UTC (Z) with the fraction kept as given.';
    return v.pipe(
        v.string(timestampMessage),
        v.regex(TIMESTAMP_PATTERN, timestampMessage),
        v.description(description),
        v.rawTransform(({ dataset, addIssue, NEVER }) => {
            const normalised = normaliseTimestamp(dataset.value);
            if (normalised !== undefined) return normalised;
            addIssue({ message: describeTimestampProblem(dataset.value) });
            return NEVER;
        }),
    );
}

/** The entries of the body object. Key order is the order issues are reported in. */
export const aggregateEntries = {
    tenantId: guid('Entra tenant id of the managed tenant'),
    tenantDisplayName: trimmedText(MAX_NAME_LENGTH, 'Display name of the managed tenant'),
    compliancePolicyId: guid('Id of the device compliance policy'),
    compliancePolicyName: trimmedText(MAX_NAME_LENGTH, 'Display name of the compliance policy'),
    compliancePolicyType: trimmedText(MAX_LABEL_LENGTH, 'Type of the compliance policy (e.g. "Unknown"), stored as given'),
    compliancePolicyPlatform: trimmedText(MAX_LABEL_LENGTH, 'Platform of the compliance policy (e.g. "Windows10"), stored as given'),
    numberOfCompliantDevices: count('Number of compliant devices'),
    numberOfNonCompliantDevices: count('Number of non-compliant devices'),
    numberOfErrorDevices: count('Number of devices in error'),
    policyModifiedDateTime: timestamp('When the policy was last modified'),
    lastRefreshedDateTime: timestamp('When the aggregate was computed; a newer refresh replaces an older one'),
    id: v.optional(
        v.pipe(
            v.string((issue) => `must be a string (got ${describeValue(issue.input)})`),
            v.description('Optional entity id; when present it must equal {tenantId}_{compliancePolicyId} (case-insensitive).'),
        ),
    ),
    '@odata.type': v.optional(
        v.pipe(
            v.literal(ENTITY_ODATA_TYPE, (issue) => `must be "${ENTITY_ODATA_TYPE}" (got ${describeValue(issue.input)})`),
            v.description('Optional; when present it must be the entity type.'),
        ),
    ),
};

/** The known properties with their rules, including the `id` cross-check; unknown properties are left to the guard. */
export const aggregateShape = v.pipe(
    v.object(aggregateEntries, (issue) => (issue.expected === 'Object' ? 'body must be a JSON object' : 'is required')),
    v.forward(
        v.partialCheck(
            [['id'], ['tenantId'], ['compliancePolicyId']],
            (input) => input.id === undefined || input.id.toLowerCase() === `${input.tenantId}_${input.compliancePolicyId}`,
            (issue) => `must equal {tenantId}_{compliancePolicyId} (got ${describeValue((issue.input as { id?: unknown }).id)})`,
        ),
        ['id'],
    ),
);

/**
 * Lists every unknown property at once (valibot's strictObject stops at the first, and its key checks read
 * through the prototype, so a parsed `__proto__` key would go unnoticed). Contributes nothing to the output.
 */
const unknownPropertyGuard = v.pipe(
    v.unknown(),
    v.rawCheck(({ dataset, addIssue }) => {
        const input = dataset.value as Record<string, unknown>;
        for (const key of Object.keys(input)) {
            if (acceptedPropertyNames.has(key)) continue;
            addIssue({
                message: 'is not a property of aggregatedPolicyCompliance',
                path: [{ type: 'object', origin: 'key', input, key: describeKey(key), value: undefined }],
            });
        }
    }),
    v.transform(() => ({})),
);

/** A JSON object as `JSON.parse` makes them: not an array, not a class instance. */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
    const prototype: unknown = Object.getPrototypeOf(value);
    return prototype === Object.prototype || prototype === null;
}

/** The valibot schema of a body: an unknown value in, a normalised `ComplianceAggregate` out. */
export const aggregateSchema = v.pipe(
    v.custom<Record<string, unknown>>(isJsonObject, (issue) => `body must be a JSON object (got ${describeValue(issue.input)})`),
    v.intersect([aggregateShape, unknownPropertyGuard]),
    v.transform(
        (body): ComplianceAggregate => ({
            tenantId: body.tenantId,
            tenantDisplayName: body.tenantDisplayName,
            compliancePolicyId: body.compliancePolicyId,
            compliancePolicyName: body.compliancePolicyName,
            compliancePolicyType: body.compliancePolicyType,
            compliancePolicyPlatform: body.compliancePolicyPlatform,
            numberOfCompliantDevices: body.numberOfCompliantDevices,
            numberOfNonCompliantDevices: body.numberOfNonCompliantDevices,
            numberOfErrorDevices: body.numberOfErrorDevices,
            policyModifiedDateTime: body.policyModifiedDateTime,
            lastRefreshedDateTime: body.lastRefreshedDateTime,
        }),
    ),
);
