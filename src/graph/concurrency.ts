import { ensureError } from '../errors';
import type { NetworkErrorKind } from './client';

/** What one finished request says about Graph's load: it coped, it pushed back, or it says nothing either way. */
export type LoadSignal = 'success' | 'overload' | 'neutral';

export type ConcurrencyChange = 'increase' | 'decrease';

export interface AdaptiveConcurrencyOptions {
    /** Hard ceiling (GRAPH_MAX_CONCURRENCY). */
    readonly max: number;
    /** Where the limit starts; capped by `max`. */
    readonly initial?: number;
    /** Overload signals within this time after a decrease are ignored, so one burst of 429s halves the limit once. */
    readonly cooldownMs?: number;
    readonly now?: () => number;
    readonly onChange?: (limit: number, previous: number, change: ConcurrencyChange) => void;
}

export const DEFAULT_INITIAL_CONCURRENCY = 4;
export const DEFAULT_DECREASE_COOLDOWN_MS = 250;

interface Waiter {
    readonly grant: () => void;
}

/**
 * AIMD limit on Graph requests in flight for one writer: +1 after `limit` successes in a row, ×0.5 (floor 1) on
 * throttling, 5xx or timeouts. A FIFO queue holds the requests beyond the limit; a grant never lifts the number in
 * flight above the current limit (after a decrease, requests already in flight finish and are not replaced).
 */
export class AdaptiveConcurrency {
    private limit: number;
    private active = 0;
    private successes = 0;
    private lastDecreaseAt = Number.NEGATIVE_INFINITY;
    private readonly max: number;
    private readonly cooldownMs: number;
    private readonly now: () => number;
    private readonly waiting: Waiter[] = [];

    constructor(private readonly options: AdaptiveConcurrencyOptions) {
        this.max = Math.max(1, Math.floor(options.max));
        this.limit = Math.min(this.max, Math.max(1, Math.floor(options.initial ?? DEFAULT_INITIAL_CONCURRENCY)));
        this.cooldownMs = options.cooldownMs ?? DEFAULT_DECREASE_COOLDOWN_MS;
        this.now = options.now ?? Date.now;
    }

    /** The current limit. */
    get current(): number {
        return this.limit;
    }

    get inFlight(): number {
        return this.active;
    }

    /** Resolves when the request may go; rejects when `signal` aborts first. Every grant needs one `release`. */
    acquire(signal: AbortSignal): Promise<void> {
        if (signal.aborted) return Promise.reject(ensureError(signal.reason));
        if (this.active < this.limit && this.waiting.length === 0) {
            this.active++;
            return Promise.resolve();
        }
        return new Promise((resolve, reject) => {
            const waiter: Waiter = {
                grant: () => {
                    signal.removeEventListener('abort', onAbort);
                    resolve();
                },
            };
            const onAbort = () => {
                const index = this.waiting.indexOf(waiter);
                if (index >= 0) this.waiting.splice(index, 1);
                reject(ensureError(signal.reason));
            };
            this.waiting.push(waiter);
            signal.addEventListener('abort', onAbort, { once: true });
        });
    }

    /** Hand back a grant, with what its request said about Graph's load. */
    release(load: LoadSignal): void {
        this.active = Math.max(0, this.active - 1);
        if (load === 'success') this.onSuccess();
        else if (load === 'overload') this.onOverload();
        this.grantWaiting();
    }

    private onSuccess(): void {
        this.successes++;
        if (this.successes < this.limit || this.limit >= this.max) return;
        this.change(this.limit + 1, 'increase');
    }

    private onOverload(): void {
        const at = this.now();
        if (at - this.lastDecreaseAt < this.cooldownMs) return;
        this.lastDecreaseAt = at;
        this.change(Math.max(1, Math.floor(this.limit / 2)), 'decrease');
    }

    private change(limit: number, change: ConcurrencyChange): void {
        this.successes = 0;
        if (limit === this.limit) return;
        const previous = this.limit;
        this.limit = limit;
        this.options.onChange?.(limit, previous, change);
    }

    private grantWaiting(): void {
        while (this.active < this.limit) {
            const next = this.waiting.shift();
            if (!next) return;
            this.active++;
            next.grant();
        }
    }
}

/** Throttling, 5xx and timeouts say Graph is loaded; any other answer says it coped; other network failures say nothing. */
export function loadSignalOf(status: number, networkError?: NetworkErrorKind): LoadSignal {
    if (status === 0) return networkError === 'timeout' ? 'overload' : 'neutral';
    if (status === 408 || status === 429 || status === 500 || status === 502 || status === 503 || status === 504) return 'overload';
    return 'success';
}
