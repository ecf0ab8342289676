import type { DeadLetterProperties, DeadLetterReason, RetryOutcome } from './outcome';

/**
 * The one settlement port. Each host (Functions SDK binding, standalone worker) implements it
 * for its own message handle type `M`; the pipeline never sees how settlement is carried out.
 */
export interface Settlement<M> {
    complete(message: M): Promise<void>;
    deadLetter(message: M, reason: DeadLetterReason, description: string, properties: DeadLetterProperties): Promise<void>;
    /** Give the message back for a later attempt (abandon today; a delayed copy once recoverability lands). */
    retry(message: M, outcome: RetryOutcome): Promise<void>;
}
