/**
 * Builds the JSON Schema of the message body from the valibot contract, for producers to validate against.
 * `@valibot/to-json-schema` converts the structure, patterns and descriptions; the rules it cannot express
 * (trimming, code-point lengths, control characters, calendar checks, the `id` cross-check) are tightened by
 * hand below and spelled out in each property's description. Regenerate the committed file with
 * `UPDATE_SCHEMA=1 npx vitest run test/contract/json-schema.test.ts`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toJsonSchema, type JSONSchema7 } from '@valibot/to-json-schema';
import { aggregateShape, GUID_PATTERN } from '../src/contract/aggregate';

export const AGGREGATE_SCHEMA_PATH = join(__dirname, '..', 'schema', 'compliance-aggregate.schema.json');

const TEXT_PROPERTIES = ['tenantDisplayName', 'compliancePolicyName', 'compliancePolicyType', 'compliancePolicyPlatform'];
const TIMESTAMP_PROPERTIES = ['policyModifiedDateTime', 'lastRefreshedDateTime'];
const GUID_BODY = GUID_PATTERN.source.slice(1, -1);

export const exampleBody = {
    tenantId: '34298981-4fc8-4974-9486-c8909ed1521b',
    tenantDisplayName: 'Fourth Coffee',
    compliancePolicyId: '19a8d6a6-d87e-4059-85b3-c73bfc5cea15',
    compliancePolicyName: 'Baseline - Setup Compliance Policy for Windows devices',
    compliancePolicyType: 'Unknown',
    compliancePolicyPlatform: 'Windows10',
    numberOfCompliantDevices: 42,
    numberOfNonCompliantDevices: 3,
    numberOfErrorDevices: 0,
    policyModifiedDateTime: '2021-06-22T17:01:46Z',
    lastRefreshedDateTime: '2021-07-11T01:02:33.4452876Z',
};

export function buildAggregateJsonSchema(): JSONSchema7 {
    const generated = toJsonSchema(aggregateShape, {
        target: 'draft-2020-12',
        typeMode: 'input',
        // Normalisations (they change no verdict) and checks JSON Schema cannot state exactly; each check is
        // covered by a description or a tweak below.
        ignoreActions: ['trim', 'to_lower_case', 'check', 'partial_check'],
    });
    const properties = { ...(generated.properties as Record<string, JSONSchema7>) };
    for (const name of TEXT_PROPERTIES) properties[name] = { ...properties[name], pattern: '\\S' };
    for (const name of TIMESTAMP_PROPERTIES) properties[name] = { ...properties[name], format: 'date-time' };
    properties.id = { ...properties.id, pattern: `^${GUID_BODY}_${GUID_BODY}$` };
    return {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        $id: 'urn:compliance-ingest:schema:compliance-aggregate',
        title: 'Device compliance aggregate (Service Bus message body)',
        description:
            'One aggregatedPolicyCompliance of a managed tenant, using the Graph entity\'s property names. ' +
            'Messages that do not satisfy this schema are dead-lettered with reason SchemaViolation. ' +
            'At most 65536 bytes of UTF-8 JSON.',
        type: 'object',
        properties,
        required: generated.required,
        additionalProperties: false,
        examples: [exampleBody],
    };
}

/** The schema file's exact text: two-space JSON with a final newline. */
export function renderAggregateJsonSchema(): string {
    return `${JSON.stringify(buildAggregateJsonSchema(), null, 2)}\n`;
}

export function writeAggregateJsonSchema(): void {
    writeFileSync(AGGREGATE_SCHEMA_PATH, renderAggregateJsonSchema());
}
