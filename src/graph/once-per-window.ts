/**
 * Lets one event per key through per time window and counts what it held back, so a systemic failure
 * hit by thousands of messages is reported loudly once instead of flooding the logs.
 */
export class OncePerWindow {
    private readonly lastAdmitted = new Map<string, number>();
    private readonly suppressed = new Map<string, number>();

    constructor(
        private readonly windowMs: number,
        private readonly now: () => number = Date.now,
    ) {}

    /** True when `key` may be reported now; `suppressed` is how many reports were held back since the last one. */
    admit(key: string): { admitted: boolean; suppressed: number } {
        const at = this.now();
        const last = this.lastAdmitted.get(key);
        if (last !== undefined && at - last < this.windowMs) {
            this.suppressed.set(key, (this.suppressed.get(key) ?? 0) + 1);
            return { admitted: false, suppressed: this.suppressed.get(key) ?? 0 };
        }
        const held = this.suppressed.get(key) ?? 0;
        this.lastAdmitted.set(key, at);
        this.suppressed.delete(key);
        return { admitted: true, suppressed: held };
    }
}
