export { startGraphStandIn, defaultGraphAudience, defaultRequiredRole } from './standin';
export type { GraphStandIn, GraphStandInOptions } from './standin';
export type { AggregatedPolicyComplianceEntity } from './entity';
export type { GraphFaults, GraphMode } from './faults';
export type { GraphStats } from './service';
export { maxBatchRequests } from './batch';
