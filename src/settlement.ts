import type { InboundMessage } from './message';
import type { DeadLetterProperties, DeadLetterReason, RetryOutcome } from './outcome';
import type { RetryDecision } from './recoverability/retry-policy';

/** A retry the policy decided on: the failure, when the message may come back, and the message itself. */
export interface RetryPlan {
    readonly outcome: RetryOutcome;
    readonly decision: Extract<RetryDecision, { kind: 'reschedule' }>;
    readonly message: InboundMessage;
}

/**
 * The one settlement port. Each host (Functions SDK binding, standalone worker) implements it
 * for its own message handle type `M`; the pipeline never sees how settlement is carried out.
 */
export interface Settlement<M> {
    complete(message: M): Promise<void>;
    deadLetter(message: M, reason: DeadLetterReason, description: string, properties: DeadLetterProperties): Promise<void>;
    /** Bring the message back later (a delayed copy, or an abandon when no copy can be sent). */
    retry(message: M, plan: RetryPlan): Promise<void>;
}
