/**
 * Fault injection for the Graph stand-in: a token bucket on writes (429), random 5xx, added latency, dropped
 * connections and whole-service modes. Random choices come from a seedable PRNG so a run can be replayed.
 */

export type GraphMode = 'normal' | 'rejectCreates' | 'forbidden' | 'notImplemented';

export interface GraphFaults {
    /** Writes (POST/PATCH, also inside $batch) allowed per second; beyond that 429 with a fractional Retry-After. */
    writeRateLimitPerSecond?: number;
    /** Share (0..1) of requests answered 500, 503 or 504. */
    errorRate?: number;
    /** Delay added to every HTTP request. */
    latencyMs?: number;
    mode?: GraphMode;
    /** Share (0..1) of HTTP requests whose socket is destroyed without a response. */
    dropConnectionRate?: number;
    /** Seed for the random choices; the same seed and request order give the same faults. */
    seed?: number;
}

const modes: readonly GraphMode[] = ['normal', 'rejectCreates', 'forbidden', 'notImplemented'];
const knownFaults = new Set(['writeRateLimitPerSecond', 'errorRate', 'latencyMs', 'mode', 'dropConnectionRate', 'seed']);

/** Check faults that may come from JSON (control endpoint); throws a RangeError naming the bad field. */
export function checkFaults(input: unknown): GraphFaults {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new RangeError('Faults must be a JSON object');
    const faults = input as Record<string, unknown>;
    for (const key of Object.keys(faults)) if (!knownFaults.has(key)) throw new RangeError(`Unknown fault '${key}'`);
    const number = (key: string, min: number, max: number): void => {
        const value = faults[key];
        if (value === undefined) return;
        if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
            throw new RangeError(`Fault '${key}' must be a number from ${min} to ${max}`);
        }
    };
    number('writeRateLimitPerSecond', 0, Number.MAX_SAFE_INTEGER);
    number('errorRate', 0, 1);
    number('latencyMs', 0, 600_000);
    number('dropConnectionRate', 0, 1);
    number('seed', -(2 ** 31), 2 ** 32);
    if (faults.mode !== undefined && !modes.includes(faults.mode as GraphMode)) {
        throw new RangeError(`Fault 'mode' must be one of ${modes.join(', ')}`);
    }
    return faults;
}

/** mulberry32: tiny, fast and good enough to pick faults; not for anything secret. */
function seededRandom(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

export type InjectedError = { status: 500 | 504 } | { status: 503; retryAfter?: string };

/** The current faults plus the state they need (random source, write token bucket). */
export class FaultPlan {
    private faults: GraphFaults = {};
    private random: () => number = seededRandom(Math.floor(Math.random() * 2 ** 32));
    private tokens = 0;
    private refilledAtMs = 0;

    constructor(faults: GraphFaults = {}) {
        this.set(faults);
    }

    set(faults: GraphFaults): void {
        this.faults = { ...checkFaults(faults) };
        if (faults.seed !== undefined) this.random = seededRandom(faults.seed);
        // A full bucket: the limit allows a burst of one second's worth of writes.
        this.tokens = this.bucketSize();
        this.refilledAtMs = performance.now();
    }

    current(): GraphFaults {
        return { ...this.faults };
    }

    get mode(): GraphMode {
        return this.faults.mode ?? 'normal';
    }

    get latencyMs(): number {
        return this.faults.latencyMs ?? 0;
    }

    shouldDropConnection(): boolean {
        const rate = this.faults.dropConnectionRate ?? 0;
        return rate > 0 && this.random() < rate;
    }

    /** A random 5xx for this request, or undefined. 503 sometimes carries a short Retry-After, like Graph's. */
    injectedError(): InjectedError | undefined {
        const rate = this.faults.errorRate ?? 0;
        if (rate <= 0 || this.random() >= rate) return undefined;
        const pick = this.random();
        if (pick < 1 / 3) return { status: 500 };
        if (pick < 2 / 3) return this.random() < 0.5 ? { status: 503, retryAfter: '0.1' } : { status: 503 };
        return { status: 504 };
    }

    /** Take one write from the bucket: undefined when allowed, else the Retry-After value (seconds, fractional). */
    takeWrite(): string | undefined {
        const rate = this.faults.writeRateLimitPerSecond;
        if (rate === undefined) return undefined;
        const now = performance.now();
        this.tokens = Math.min(this.bucketSize(), this.tokens + ((now - this.refilledAtMs) * rate) / 1000);
        this.refilledAtMs = now;
        if (this.tokens >= 1) {
            this.tokens -= 1;
            return undefined;
        }
        if (rate === 0) return '60';
        const waitSeconds = (1 - this.tokens) / rate;
        return String(Math.max(0.001, Math.ceil(waitSeconds * 1000) / 1000));
    }

    private bucketSize(): number {
        return Math.max(1, this.faults.writeRateLimitPerSecond ?? 0);
    }
}
