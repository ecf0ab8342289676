/**
 * Traffic for fault suites: many messages over fewer entities, with duplicates and out-of-order refreshes, plus a
 * few invalid bodies; and the end-state check every suite shares (nothing lost, nothing doubled, nothing stuck).
 */
import { expect } from 'vitest';

import type { AggregatedPolicyComplianceEntity, GraphStandIn } from '../../src/emulators/graph';
import type { ServiceBusEmulator } from '../../src/emulators/servicebus';
import { aggregate, idOf, queue } from '../e2e/stack';

export interface Traffic {
    readonly bodies: readonly string[];
    /** Per entity id, the newest refresh sent and the count that came with it. */
    readonly newest: ReadonlyMap<string, { readonly refreshed: string; readonly compliant: number }>;
    /** The invalid bodies, each unique so the DLQ can be matched exactly. */
    readonly invalid: ReadonlySet<string>;
}

const BASE = Date.parse('2026-12-01T00:00:00Z');

/**
 * `count` messages over `count / 2` entities starting at `firstKey`: each entity gets two refreshes sent newest
 * first or oldest first (alternating), and every `invalidEvery`-th message is an invalid body instead.
 */
export function mixedTraffic(count: number, options: { firstKey: number; invalidEvery?: number }): Traffic {
    const bodies: string[] = [];
    const newest = new Map<string, { refreshed: string; compliant: number }>();
    const invalid = new Set<string>();
    const entities = Math.max(1, Math.floor(count / 2));
    for (let i = 0; i < count; i++) {
        if (options.invalidEvery && i % options.invalidEvery === options.invalidEvery - 1) {
            const body = JSON.stringify({ tenantId: `not-a-guid-${options.firstKey}-${i}` });
            invalid.add(body);
            bodies.push(body);
            continue;
        }
        const key = options.firstKey + (i % entities);
        const round = Math.floor(i / entities);
        // Odd keys get their newer refresh first, so "last sent" and "newest" differ.
        const minute = key % 2 === 1 ? 10 - round : round;
        const refreshed = new Date(BASE + minute * 60_000).toISOString().replace('.000Z', 'Z');
        const compliant = minute;
        bodies.push(JSON.stringify(aggregate(key, refreshed, { numberOfCompliantDevices: compliant })));
        const current = newest.get(idOf(key));
        if (!current || current.refreshed < refreshed) newest.set(idOf(key), { refreshed, compliant });
    }
    return { bodies, newest, invalid };
}

/** Nothing lost, nothing doubled, nothing stuck: the end state every fault suite must reach. */
export function expectSettled(traffic: Traffic, graph: GraphStandIn, serviceBus: ServiceBusEmulator): void {
    const stored = graph.entities();
    expect(new Set(stored.keys())).toEqual(new Set(traffic.newest.keys()));
    const stale: string[] = [];
    for (const [id, want] of traffic.newest) {
        const got = stored.get(id);
        if (got?.lastRefreshedDateTime !== want.refreshed || got.numberOfCompliantDevices !== want.compliant) {
            stale.push(`${id}: ${got?.lastRefreshedDateTime} / ${got?.numberOfCompliantDevices}, want ${want.refreshed} / ${want.compliant}`);
        }
    }
    expect(stale).toEqual([]);
    // No entity created twice: a create whose answer was lost (a 504 after the commit, a timeout) meets a 409 on retry
    // and is reconciled. Those lost answers are why 201s can be fewer than entities.
    expect(graph.stats().byStatus['201'] ?? 0).toBeLessThanOrEqual(traffic.newest.size);
    expect(graph.stats().byKind.delete ?? 0).toBe(0);
    const dead = serviceBus.deadLetters(queue);
    expect(dead.map((d) => d.deadLetterReason ?? '').filter((r) => r !== 'SchemaViolation')).toEqual([]);
    expect(new Set(dead.map((d) => bodyText(d.body)))).toEqual(traffic.invalid);
    expect(dead).toHaveLength(traffic.invalid.size);
    expect(serviceBus.counts(queue)).toMatchObject({ active: 0, locked: 0, scheduled: 0 });
}

/** The emulator hands DLQ bodies back as it decoded them: bytes, text, or parsed JSON. */
function bodyText(body: unknown): string {
    if (Buffer.isBuffer(body)) return body.toString('utf8');
    return typeof body === 'string' ? body : JSON.stringify(body);
}

/** One line per suite, so the figures can be read from the run and copied into docs/reliability.md. */
export function reportFigures(suite: string, figures: Readonly<Record<string, unknown>>): void {
    console.log(`[reliability] ${suite}: ${Object.entries(figures).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')}`);
}

/** Wait until `condition` holds, polling; throws after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > end) throw new Error('condition not met in time');
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
}

/** Settings for fault suites: short backoffs, and a retry budget no fault storm can exhaust. */
export const faultSuiteEnv: Readonly<Record<string, string>> = {
    RETRY_MAX_ATTEMPTS: '1000',
    RETRY_BASE_DELAY_MS: '20',
    RETRY_MAX_DELAY_MS: '200',
    CIRCUIT_COOLDOWN_MS: '100',
    GRAPH_TIMEOUT_MS: '500',
    GRAPH_RETRY_BUDGET_MS: '300',
};

/**
 * Call `onStored` at the moment the Graph stand-in stores an entity (a create or an update), in this process's clock.
 * The stand-in has no hook for this, so its store's `set` is wrapped; the returned function unwraps it.
 */
export function watchStores(graph: GraphStandIn, onStored: (id: string, entity: AggregatedPolicyComplianceEntity) => void): () => void {
    const store = graph.entities() as Map<string, AggregatedPolicyComplianceEntity>;
    const set = store.set.bind(store);
    Object.defineProperty(store, 'set', {
        configurable: true,
        value(id: string, entity: AggregatedPolicyComplianceEntity) {
            onStored(id, entity);
            return set(id, entity);
        },
    });
    return () => {
        delete (store as { set?: unknown }).set;
    };
}

/** The value at quantile `q` (0..1) of unsorted samples, nearest rank. */
export function quantile(samples: ArrayLike<number>, q: number): number {
    const sorted = Float64Array.from(samples).sort();
    return sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]! : Number.NaN;
}
