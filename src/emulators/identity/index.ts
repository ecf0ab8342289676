export { startIdentityStandIn, managedIdentityApiVersion } from './standin';
export type { IdentityFault, IdentityRequestRecord, IdentityStandIn, IdentityStandInOptions } from './standin';
