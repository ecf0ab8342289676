/** A valid body as a producer would send it, with overrides; `undefined` in overrides removes the property. */
export function aggregateBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const body: Record<string, unknown> = {
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
    for (const [key, value] of Object.entries(overrides)) {
        if (value === undefined) delete body[key];
        else body[key] = value;
    }
    return body;
}

/** The create example of Graph's contract (create-aggregatedpolicycompliance.md): placeholders, not values. */
export const seedPlaceholderAggregate: Readonly<Record<string, string>> = {
    '@odata.type': '#microsoft.graph.managedTenants.aggregatedPolicyCompliance',
    tenantId: 'String',
    tenantDisplayName: 'String',
    compliancePolicyId: 'String',
    compliancePolicyName: 'String',
    compliancePolicyType: 'String',
    compliancePolicyPlatform: 'String',
    numberOfCompliantDevices: 'Integer',
    numberOfNonCompliantDevices: 'Integer',
    numberOfErrorDevices: 'Integer',
    policyModifiedDateTime: 'String (timestamp)',
    lastRefreshedDateTime: 'String (timestamp)',
};
