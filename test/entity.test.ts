import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggregatePropertyNames, type ComplianceAggregate } from '../src/contract/aggregate';
import { decodeAggregate, validateAggregate, validateWithSchema } from '../src/contract/decode';
import { compareInstants } from '../src/contract/timestamp';
import { ENTITY_ODATA_TYPE, entityIdOf, toEntity } from '../src/entity';
import { bodyArbitrary } from './contract/aggregate-arbitraries';
import { aggregateBody } from './contract/aggregate-factory';

function decoded(body: Record<string, unknown>): ComplianceAggregate {
    const result = validateAggregate(body);
    if (!result.ok) throw new Error(result.description);
    return result.aggregate;
}

describe('entityIdOf', () => {
    it('joins the two ids with an underscore, lower-cased', () => {
        expect(entityIdOf('34298981-4FC8-4974-9486-C8909ED1521B', '19A8D6A6-d87e-4059-85b3-c73bfc5cea15')).toBe(
            '34298981-4fc8-4974-9486-c8909ed1521b_19a8d6a6-d87e-4059-85b3-c73bfc5cea15',
        );
    });
});

describe('toEntity', () => {
    it('adds @odata.type and id to the normalised aggregate, in the order of Graph\'s example', () => {
        const aggregate = decoded(
            aggregateBody({
                tenantId: '34298981-4FC8-4974-9486-C8909ED1521B',
                tenantDisplayName: '  Fourth Coffee ',
                numberOfCompliantDevices: '42',
                lastRefreshedDateTime: '2021-07-11T03:02:33.4452876+02:00',
            }),
        );
        const entity = toEntity(aggregate);
        expect(entity).toEqual({
            '@odata.type': ENTITY_ODATA_TYPE,
            id: '34298981-4fc8-4974-9486-c8909ed1521b_19a8d6a6-d87e-4059-85b3-c73bfc5cea15',
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
        });
        expect(Object.keys(entity)).toEqual(['@odata.type', 'id', ...aggregatePropertyNames]);
        expect(ENTITY_ODATA_TYPE).toBe('#microsoft.graph.managedTenants.aggregatedPolicyCompliance');
    });

    it('copies only the aggregate\'s own properties', () => {
        const aggregate = { ...decoded(aggregateBody()), extra: 'ignored' } as ComplianceAggregate;
        expect(toEntity(aggregate)).not.toHaveProperty('extra');
    });
});

describe('normalisation properties', () => {
    it('is idempotent: decoding the mapped entity again gives the same aggregate', () => {
        fc.assert(
            fc.property(bodyArbitrary, (body) => {
                const first = validateAggregate(body);
                if (!first.ok) return;
                const entity = toEntity(first.aggregate);
                expect(validateAggregate(entity)).toEqual(first);
                expect(decodeAggregate(Buffer.from(JSON.stringify(entity)))).toEqual(first);
            }),
            { numRuns: 500 },
        );
    });

    it('maps any accepted input to an entity whose fields satisfy the schema', () => {
        fc.assert(
            fc.property(bodyArbitrary, (body) => {
                const result = validateAggregate(body);
                if (!result.ok) return;
                const entity = toEntity(result.aggregate);
                expect(validateWithSchema(entity).ok).toBe(true);
                expect(entity.id).toBe(`${entity.tenantId}_${entity.compliancePolicyId}`);
                expect(entity.tenantId).toBe(entity.tenantId.toLowerCase());
                for (const name of ['numberOfCompliantDevices', 'numberOfNonCompliantDevices', 'numberOfErrorDevices'] as const) {
                    expect(Number.isSafeInteger(entity[name]) && !Object.is(entity[name], -0) && entity[name] >= 0).toBe(true);
                }
                for (const name of ['policyModifiedDateTime', 'lastRefreshedDateTime'] as const) {
                    expect(entity[name]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z$/);
                    // The same instant as was sent, to the last fractional digit.
                    expect(compareInstants(entity[name], body[name] as string)).toBe(0);
                }
            }),
            { numRuns: 500 },
        );
    });
});
