import { type AggregatedPolicyCompliance } from '../../src/entity';

const TENANT = '34298981-4fc8-4974-9486-c8909ed1521b';

/** A valid entity; `n` varies the policy id so ids stay unique within one write. */
export function entity(n = 0, overrides: Partial<AggregatedPolicyCompliance> = {}): AggregatedPolicyCompliance {
    const policy = `19a8d6a6-d87e-4059-85b3-${n.toString(16).padStart(12, '0')}`;
    return {
        '@odata.type': '#microsoft.graph.managedTenants.aggregatedPolicyCompliance',
        id: `${TENANT}_${policy}`,
        tenantId: TENANT,
        tenantDisplayName: 'Fourth Coffee',
        compliancePolicyId: policy,
        compliancePolicyName: 'Baseline',
        compliancePolicyType: 'Unknown',
        compliancePolicyPlatform: 'Windows10',
        numberOfCompliantDevices: 3,
        numberOfNonCompliantDevices: 1,
        numberOfErrorDevices: 0,
        policyModifiedDateTime: '2021-06-22T17:01:46Z',
        lastRefreshedDateTime: '2021-07-11T01:02:33.4452876Z',
        ...overrides,
    };
}

export const COLLECTION = '/beta/tenantRelationships/managedTenants/aggregatedPolicyCompliances';
