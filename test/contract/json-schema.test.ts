import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
    AGGREGATE_SCHEMA_PATH,
    buildAggregateJsonSchema,
    exampleBody,
    renderAggregateJsonSchema,
    writeAggregateJsonSchema,
} from '../../scripts/generate-schema';
import { aggregatePropertyNames } from '../../src/contract/aggregate';
import { validateAggregate } from '../../src/contract/decode';

describe('exported JSON Schema', () => {
    it('is current (regenerate with UPDATE_SCHEMA=1 npx vitest run test/contract/json-schema.test.ts)', () => {
        if (process.env.UPDATE_SCHEMA === '1') writeAggregateJsonSchema();
        const committed = existsSync(AGGREGATE_SCHEMA_PATH) ? readFileSync(AGGREGATE_SCHEMA_PATH, 'utf8') : '';
        expect(
            committed,
            'schema/compliance-aggregate.schema.json is stale: run UPDATE_SCHEMA=1 npx vitest run test/contract/json-schema.test.ts',
        ).toBe(renderAggregateJsonSchema());
    });

    it('states the rules to-json-schema cannot derive', () => {
        const schema = buildAggregateJsonSchema();
        const properties = schema.properties as Record<string, Record<string, unknown>>;
        expect(schema.additionalProperties).toBe(false);
        expect(schema.$id).toBe('urn:compliance-ingest:schema:compliance-aggregate');
        expect(schema.required).toEqual(aggregatePropertyNames);
        expect(Object.keys(properties)).toEqual([...aggregatePropertyNames, 'id', '@odata.type']);
        expect(properties.tenantId!.pattern).toMatch(/^\^\[0-9A-Fa-f\]\{8\}/);
        expect(properties.lastRefreshedDateTime).toMatchObject({ type: 'string', format: 'date-time' });
        expect(properties.numberOfErrorDevices!.anyOf).toEqual([
            { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
            { type: 'string', pattern: '^[0-9]+$' },
        ]);
        expect(properties.compliancePolicyPlatform).toMatchObject({ type: 'string', minLength: 1, pattern: '\\S' });
        expect(properties['@odata.type']!.const).toBe('#microsoft.graph.managedTenants.aggregatedPolicyCompliance');
        for (const name of aggregatePropertyNames) expect(properties[name]!.description, name).toEqual(expect.any(String));
    });

    it('carries an example the contract accepts unchanged', () => {
        expect(buildAggregateJsonSchema().examples).toEqual([exampleBody]);
        expect(validateAggregate(exampleBody)).toEqual({ ok: true, aggregate: exampleBody });
    });
});
