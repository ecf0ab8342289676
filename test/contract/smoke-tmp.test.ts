import { it } from 'vitest';
import { decodeAggregate } from '../../src/contract/decode';
it('smoke', () => {
    const seed = `{
  "@odata.type": "#microsoft.graph.managedTenants.aggregatedPolicyCompliance",
  "tenantId": "String", "tenantDisplayName": "String", "compliancePolicyId": "String", "compliancePolicyName": "String",
  "compliancePolicyType": "String", "compliancePolicyPlatform": "String",
  "numberOfCompliantDevices": "Integer", "numberOfNonCompliantDevices": "Integer", "numberOfErrorDevices": "Integer",
  "policyModifiedDateTime": "String (timestamp)", "lastRefreshedDateTime": "String (timestamp)"
}`;
    console.log(decodeAggregate(Buffer.from(seed)));
    const good = { tenantId: '34298981-4FC8-4974-9486-c8909ed1521b', tenantDisplayName: ' Fourth Coffee ', compliancePolicyId: '19a8d6a6-d87e-4059-85b3-c73bfc5cea15',
      compliancePolicyName: 'Baseline', compliancePolicyType: 'Unknown', compliancePolicyPlatform: 'Windows10', numberOfCompliantDevices: '12',
      numberOfNonCompliantDevices: 0, numberOfErrorDevices: 3, policyModifiedDateTime: '2021-06-22T17:01:46Z', lastRefreshedDateTime: '2021-01-01T01:02:33.4452876+02:00' };
    console.log(decodeAggregate(JSON.stringify(good)));
    console.log(decodeAggregate(JSON.stringify(JSON.stringify(good))));
    console.log(decodeAggregate('{"__proto__": 1, "constructor": {}, "toString": 2, "id": 5, "@odata.type": "x"}'));
    console.log(decodeAggregate('[1]'), decodeAggregate('nul'), decodeAggregate(Buffer.from([0xff, 0xfe, 0x7b])), decodeAggregate(Buffer.from([0xc3, 0x28])));
    console.log(decodeAggregate({ ...good, id: 'abc', policyModifiedDateTime: '2021-02-30T00:00:00Z', lastRefreshedDateTime: '2021-01-01T00:00:00.12345678Z', tenantDisplayName: 'a\u0001b', compliancePolicyType: 'x'.repeat(65) }));
});
