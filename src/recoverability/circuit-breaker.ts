import type { AggregatedPolicyCompliance } from '../entity';
import { systemicRemediation } from '../graph/write-rules';
import type { EntityWriter, WriteOutcome } from '../graph/writer';
import type { Logger } from '../log';
import type { RetryOutcome } from '../outcome';

export type CircuitState = 'closed' | 'open' | 'halfOpen';

export interface CircuitOptions {
    /** How long the circuit stays open before one probe may pass. */
    readonly coolDownMs: number;
    /** Longest cool-down after repeated failed probes (each failed probe doubles it). */
    readonly maxCoolDownMs: number;
    /** Transient failures in a row (5xx, timeouts, network) that open the circuit. */
    readonly transientThreshold: number;
    readonly now?: () => number;
}

export const defaultCircuitOptions: CircuitOptions = { coolDownMs: 30_000, maxCoolDownMs: 5 * 60_000, transientThreshold: 20 };

export function remediationFor(errorCode: string): string {
    return systemicRemediation[errorCode] ?? 'Graph keeps failing: see the last error and the service health of the Graph endpoint';
}

const isTransientFailure = (o: WriteOutcome) => o.kind === 'retry' && !o.systemic && o.errorCode !== 'GraphThrottled' && o.errorCode !== 'DeadlineExceeded';
// A 429 proves Graph is reachable and accepts us; pacing it is the Retry-After gate's job, not the circuit's.
const isGraphAnswer = (o: WriteOutcome) => o.kind === 'complete' || o.kind === 'deadLetter' || (o.kind === 'retry' && o.errorCode === 'GraphThrottled');

/**
 * A per-instance circuit over the Graph writer. Systemic failures, or a run of transient ones, open it;
 * while open nothing reaches Graph and every entity comes back as a retry; after a cool-down one probe
 * decides. One log line per state change, never one per message.
 */
export class CircuitBreaker {
    private state: CircuitState = 'closed';
    private openUntil = 0;
    private coolDownMs: number;
    private transientRun = 0;
    private cause: RetryOutcome | undefined;
    private probing = false;
    private readonly now: () => number;

    constructor(
        private readonly logger: Logger,
        private readonly options: CircuitOptions = defaultCircuitOptions,
    ) {
        this.now = options.now ?? Date.now;
        this.coolDownMs = options.coolDownMs;
    }

    get current(): CircuitState {
        return this.state;
    }

    /** When the next probe may go, or 0 while closed (the worker pauses its receiving until then). */
    get reopensAt(): number {
        return this.state === 'open' ? this.openUntil : 0;
    }

    /** Wrap a writer so every write passes through this circuit. */
    wrap(inner: EntityWriter): EntityWriter {
        return {
            write: (entities, options) => this.write(inner, entities, options),
            get concurrency() {
                return inner.concurrency;
            },
            get pausedUntil() {
                return inner.pausedUntil;
            },
        };
    }

    private async write(
        inner: EntityWriter,
        entities: readonly AggregatedPolicyCompliance[],
        options: Parameters<EntityWriter['write']>[1],
    ): Promise<Map<string, WriteOutcome>> {
        if (this.state === 'open' && this.now() >= this.openUntil) this.transition('halfOpen');
        if (this.state === 'open' || (this.state === 'halfOpen' && this.probing)) return this.shortCircuit(entities);
        if (this.state === 'halfOpen') {
            // One entity probes; the rest wait for its verdict.
            const [probe, ...rest] = entities;
            if (!probe) return new Map<string, WriteOutcome>();
            this.probing = true;
            let outcome: WriteOutcome | undefined;
            try {
                outcome = (await inner.write([probe], options)).get(probe.id);
            } finally {
                this.probing = false;
            }
            this.observe(outcome ? [outcome] : []);
            const closedNow = (this.state as CircuitState) === 'closed';
            const result: Map<string, WriteOutcome> = closedNow && rest.length ? await this.write(inner, rest, options) : this.shortCircuit(rest);
            if (outcome) result.set(probe.id, outcome);
            return result;
        }
        const outcomes = new Map(await inner.write(entities, options));
        this.observe([...outcomes.values()]);
        return outcomes;
    }

    private shortCircuit(entities: readonly AggregatedPolicyCompliance[]): Map<string, WriteOutcome> {
        const cause = this.cause;
        const retryAfterMs = Math.max(0, this.openUntil - this.now());
        return new Map(
            entities.map((e) => [
                e.id,
                {
                    kind: 'retry',
                    errorCode: cause?.errorCode ?? 'CircuitOpen',
                    description: `circuit open after ${cause?.errorCode ?? 'repeated failures'}; Graph not called`,
                    systemic: cause?.systemic ?? false,
                    retryAfterMs,
                    entityId: e.id,
                    ...(cause?.graphStatus ? { graphStatus: cause.graphStatus } : {}),
                } satisfies RetryOutcome,
            ]),
        );
    }

    private observe(outcomes: readonly WriteOutcome[]): void {
        const systemic = outcomes.find((o): o is RetryOutcome => o.kind === 'retry' && o.systemic);
        if (systemic) return this.open(systemic);
        for (const o of outcomes) {
            if (isGraphAnswer(o)) this.transientRun = 0;
            else if (isTransientFailure(o)) this.transientRun++;
        }
        if (this.transientRun >= this.options.transientThreshold) {
            return this.open(outcomes.find((o): o is RetryOutcome => isTransientFailure(o)) ?? this.cause);
        }
        if (this.state === 'halfOpen') {
            if (outcomes.some(isGraphAnswer)) this.transition('closed');
            else this.open(this.cause);
        }
    }

    private open(cause: RetryOutcome | undefined): void {
        const wasProbe = this.state === 'halfOpen';
        this.coolDownMs = wasProbe ? Math.min(this.options.maxCoolDownMs, this.coolDownMs * 2) : this.options.coolDownMs;
        this.cause = cause;
        this.openUntil = this.now() + this.coolDownMs;
        this.transientRun = 0;
        this.transition('open');
    }

    private transition(next: CircuitState): void {
        if (next === this.state) return;
        const previous = this.state;
        this.state = next;
        if (next === 'open') {
            this.logger.log('error', 'circuit.opened', {
                from: previous,
                cause: this.cause?.errorCode,
                graphStatus: this.cause?.graphStatus,
                coolDownMs: this.coolDownMs,
                hint: remediationFor(this.cause?.errorCode ?? ''),
            });
        } else if (next === 'halfOpen') {
            this.logger.log('warn', 'circuit.probing', { cause: this.cause?.errorCode });
        } else {
            this.coolDownMs = this.options.coolDownMs;
            this.logger.log('info', 'circuit.closed', { after: this.cause?.errorCode });
            this.cause = undefined;
        }
    }
}
