import { setTimeout as delay } from 'node:timers/promises';

/** Why requests are held: Graph's own `Retry-After` on a 429 or a 503, or the pace set after throttling. */
export type PauseCause = 'GraphThrottled' | 'GraphUnavailable';

/** The wait outlasts the caller's deadline: hand the work back with this wait instead of sleeping. */
export interface PauseVerdict {
    readonly errorCode: PauseCause;
    readonly retryAfterMs: number;
}

export interface ThrottleGateOptions {
    readonly now?: () => number;
    readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
    /** A longer `Retry-After` is cut to this, so one odd header cannot stall the instance for hours. */
    readonly maxPauseMs?: number;
}

/** Graph has been seen asking for several minutes (shared notes §3); beyond that the header is more likely wrong. */
const DEFAULT_MAX_PAUSE_MS = 5 * 60_000;
/** After a 429 the pace drops to this share of the writes Graph accepted in the last second. */
const PACE_CUT = 0.9;
/** Without throttling the pace rises by this share per second… */
const PACE_RAISE_PER_SECOND = 0.03;
/** …and pacing stops altogether after this long without a 429. */
const PACE_RELEASE_MS = 60_000;
/** One burst of 429s (everything that was in flight) cuts the pace once. */
const PACE_CUT_COOLDOWN_MS = 1_000;
const MIN_PACE_PER_SECOND = 1;
const MIN_MEASURED_WRITES = 20;
const ACCEPT_WINDOW_SLOTS = 10;
const ACCEPT_SLOT_MS = 100;

/**
 * The gate every Graph request of one writer passes. Graph keeps counting requests while it throttles, so:
 * - when one answer says `Retry-After`, all requests of the instance wait that long, instead of one sleeping while the
 *   rest keep hammering (and keep extending the throttle);
 * - after a 429, writes are paced at a little under the rate Graph was accepting, rising slowly while no 429 comes,
 *   so a rate limit is met with few 429s instead of a retry storm. Without throttling writes are not paced.
 */
export class ThrottleGate {
    private until = 0;
    private cause: PauseCause = 'GraphThrottled';
    /** Writes per second while pacing; Infinity when not pacing. */
    private pace = Number.POSITIVE_INFINITY;
    private nextSlotAt = 0;
    private lastCutAt = Number.NEGATIVE_INFINITY;
    private lastRaiseAt = 0;
    private readonly accepted = new Array<number>(ACCEPT_WINDOW_SLOTS).fill(0);
    private acceptedSlot = 0;
    private readonly now: () => number;
    private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
    private readonly maxPauseMs: number;

    constructor(options: ThrottleGateOptions = {}) {
        this.now = options.now ?? Date.now;
        this.sleep = options.sleep ?? ((ms, signal) => delay(ms, undefined, { signal }));
        this.maxPauseMs = options.maxPauseMs ?? DEFAULT_MAX_PAUSE_MS;
    }

    /** Epoch ms until which requests are held by a `Retry-After`, or 0 when none are. */
    get pausedUntil(): number {
        return this.until > this.now() ? this.until : 0;
    }

    /** Writes per second while pacing after throttling, or undefined when writes are not paced. */
    get writesPerSecond(): number | undefined {
        this.raisePace(this.now());
        return Number.isFinite(this.pace) ? Math.round(this.pace) : undefined;
    }

    /** Hold every request for `ms` from now; a pause that already lasts longer stands. */
    pause(ms: number, cause: PauseCause): void {
        const until = this.now() + Math.min(Math.max(0, ms), this.maxPauseMs);
        if (until > this.until) {
            this.until = until;
            this.cause = cause;
        }
    }

    /** Graph took `writes` writes (any answer but 429 counts: the request was not refused for load). */
    accept(writes = 1): void {
        const window = this.acceptedWindow(this.now());
        const index = this.acceptedSlot % ACCEPT_WINDOW_SLOTS;
        window[index] = (window[index] ?? 0) + writes;
    }

    /** Graph refused a write with 429: start or tighten pacing (once per burst). */
    throttled(): void {
        const at = this.now();
        if (at - this.lastCutAt < PACE_CUT_COOLDOWN_MS) return;
        this.raisePace(at);
        const lastSecond = this.acceptedWindow(at).reduce((sum, n) => sum + n, 0);
        // Too few writes to measure a rate: an idle instance met a throttle it did not cause; Retry-After covers it.
        if (!Number.isFinite(this.pace) && lastSecond < MIN_MEASURED_WRITES) return;
        this.lastCutAt = at;
        // The last second may have been partly idle: never cut deeper than half the current pace at once.
        const cut = Math.min(this.pace, lastSecond) * PACE_CUT;
        this.pace = Math.max(MIN_PACE_PER_SECOND, Number.isFinite(this.pace) ? Math.max(cut, this.pace / 2) : cut);
        this.lastRaiseAt = at;
    }

    /**
     * Wait for the pause and for this request's pace slot (`writes` sub-requests). Resolves undefined once the request
     * may go. When it could only go after `deadlineAt` it resolves at once with the wait, so the caller can give the
     * work back instead. Rejects when `signal` aborts.
     */
    async wait(deadlineAt: number, signal: AbortSignal, writes = 1): Promise<PauseVerdict | undefined> {
        let at = this.now();
        this.raisePace(at);
        const paced = Number.isFinite(this.pace);
        const start = Math.max(at, this.until, paced ? this.nextSlotAt : 0);
        if (start > at && start > deadlineAt) return { errorCode: start === this.until ? this.cause : 'GraphThrottled', retryAfterMs: start - at };
        if (paced) this.nextSlotAt = start + (writes * 1000) / this.pace;
        // Loop: another answer may extend the pause while we sleep.
        for (let until = start; at < until; at = this.now(), until = Math.max(start, this.until)) {
            if (until > deadlineAt) return { errorCode: this.cause, retryAfterMs: until - at };
            signal.throwIfAborted();
            await this.sleep(until - at, signal);
        }
        return undefined;
    }

    private raisePace(at: number): void {
        if (!Number.isFinite(this.pace)) return;
        if (at - this.lastCutAt >= PACE_RELEASE_MS) {
            this.pace = Number.POSITIVE_INFINITY;
            return;
        }
        const seconds = (at - this.lastRaiseAt) / 1000;
        if (seconds <= 0) return;
        this.pace *= 1 + PACE_RAISE_PER_SECOND * seconds;
        this.lastRaiseAt = at;
    }

    /** The ring of per-slot accepted counts covering the last second, with stale slots cleared. */
    private acceptedWindow(at: number): number[] {
        const slot = Math.floor(at / ACCEPT_SLOT_MS);
        const stale = Math.min(ACCEPT_WINDOW_SLOTS, slot - this.acceptedSlot);
        for (let i = 1; i <= stale; i++) this.accepted[(this.acceptedSlot + i) % ACCEPT_WINDOW_SLOTS] = 0;
        if (slot > this.acceptedSlot) this.acceptedSlot = slot;
        return this.accepted;
    }
}
