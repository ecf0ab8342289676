/** The Graph entity an aggregate becomes: `microsoft.graph.managedTenants.aggregatedPolicyCompliance` (beta). */
import type { ComplianceAggregate } from './contract/aggregate';

export const ENTITY_ODATA_TYPE = '#microsoft.graph.managedTenants.aggregatedPolicyCompliance';

export interface AggregatedPolicyCompliance extends ComplianceAggregate {
    readonly '@odata.type': typeof ENTITY_ODATA_TYPE;
    readonly id: string;
}

/** Graph keys the entity as `{tenantId}_{compliancePolicyId}`; we always write it lower-case. */
export function entityIdOf(tenantId: string, compliancePolicyId: string): string {
    return `${tenantId}_${compliancePolicyId}`.toLowerCase();
}

/** The create request body for a validated aggregate, in the property order of Graph's own example. */
export function toEntity(aggregate: ComplianceAggregate): AggregatedPolicyCompliance {
    return {
        '@odata.type': ENTITY_ODATA_TYPE,
        id: entityIdOf(aggregate.tenantId, aggregate.compliancePolicyId),
        tenantId: aggregate.tenantId,
        tenantDisplayName: aggregate.tenantDisplayName,
        compliancePolicyId: aggregate.compliancePolicyId,
        compliancePolicyName: aggregate.compliancePolicyName,
        compliancePolicyType: aggregate.compliancePolicyType,
        compliancePolicyPlatform: aggregate.compliancePolicyPlatform,
        numberOfCompliantDevices: aggregate.numberOfCompliantDevices,
        numberOfNonCompliantDevices: aggregate.numberOfNonCompliantDevices,
        numberOfErrorDevices: aggregate.numberOfErrorDevices,
        policyModifiedDateTime: aggregate.policyModifiedDateTime,
        lastRefreshedDateTime: aggregate.lastRefreshedDateTime,
    };
}
