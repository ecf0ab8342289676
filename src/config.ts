import * as v from 'valibot';

import { ConfigurationError } from './errors';
import { defaultRetryPolicy, type RetryPolicy } from './recoverability/retry-policy';

/**
 * Every app setting the code reads, in one place. The infra test checks that each name that
 * a deployed Function needs appears in the Bicep, so settings and code cannot drift apart.
 */
export const settingNames = {
    serviceBusConnection: 'ServiceBusConnection',
    serviceBusNamespace: 'ServiceBusConnection__fullyQualifiedNamespace',
    serviceBusCredential: 'ServiceBusConnection__credential',
    serviceBusClientId: 'ServiceBusConnection__clientId',
    queueName: 'COMPLIANCE_QUEUE_NAME',
    graphBaseUrl: 'GRAPH_BASE_URL',
    graphApiVersion: 'GRAPH_API_VERSION',
    graphScope: 'GRAPH_SCOPE',
    graphCredential: 'GRAPH_CREDENTIAL',
    graphClientId: 'AZURE_CLIENT_ID',
    graphTimeoutMs: 'GRAPH_TIMEOUT_MS',
    graphMaxConcurrency: 'GRAPH_MAX_CONCURRENCY',
    graphRetryBudgetMs: 'GRAPH_RETRY_BUDGET_MS',
    graphBatching: 'GRAPH_BATCHING',
    batchBudgetMs: 'INGEST_BATCH_BUDGET_MS',
    retryMaxAttempts: 'RETRY_MAX_ATTEMPTS',
    retryMaxTotalMinutes: 'RETRY_MAX_TOTAL_MINUTES',
    retryBaseDelayMs: 'RETRY_BASE_DELAY_MS',
    retryMaxDelayMs: 'RETRY_MAX_DELAY_MS',
    circuitCoolDownMs: 'CIRCUIT_COOLDOWN_MS',
} as const;

/** Settings a deployed Function App must have (the infra emits each of them). */
export const requiredDeployedSettings: readonly string[] = [
    settingNames.serviceBusNamespace,
    settingNames.serviceBusCredential,
    settingNames.serviceBusClientId,
    settingNames.queueName,
    settingNames.graphBaseUrl,
    settingNames.graphApiVersion,
    settingNames.graphCredential,
    settingNames.graphClientId,
];

export type GraphCredentialKind = 'managedidentity' | 'default';

export interface GraphConfig {
    /** Origin plus optional path prefix, no trailing slash, e.g. `https://graph.microsoft.com`. */
    readonly baseUrl: string;
    readonly apiVersion: string;
    /** The single `.default` scope the token is requested for. */
    readonly scope: string;
    readonly credential: GraphCredentialKind;
    /** User-assigned managed identity client id; absent → system-assigned. */
    readonly clientId?: string;
    readonly timeoutMs: number;
    readonly maxConcurrency: number;
    /** How long one write may sleep in-process on Retry-After before giving the message back. */
    readonly retryBudgetMs: number;
    /** Send writes as JSON `$batch` requests of up to 20 (GRAPH_BATCHING=on) or one request each; absent means on. */
    readonly batching?: boolean;
    /** True when the base URL is plain http on a loopback host (local stand-ins only). */
    readonly insecureLoopback: boolean;
}

export type ServiceBusConfig =
    | { readonly kind: 'connectionString'; readonly connectionString: string }
    | { readonly kind: 'identity'; readonly fullyQualifiedNamespace: string; readonly clientId?: string };

export interface IngestConfig {
    readonly queueName: string;
    readonly graph: GraphConfig;
    readonly retry: RetryPolicy;
    /** How long the Graph circuit stays open before a probe. */
    readonly circuitCoolDownMs: number;
    /** How long one batch may take before unfinished messages are given back; keep it well inside the lock. */
    readonly batchBudgetMs: number;
}

export interface WorkerConfig extends IngestConfig {
    readonly serviceBus: ServiceBusConfig;
}

export type Environment = Readonly<Record<string, string | undefined>>;

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function isLoopback(hostname: string): boolean {
    return loopbackHosts.has(hostname) || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

const intSetting = (name: string, min: number, max: number, fallback: number) =>
    v.pipe(
        v.optional(v.string(), String(fallback)),
        v.trim(),
        v.regex(/^\d+$/, `${name} must be a whole number`),
        v.transform(Number),
        v.minValue(min, `${name} must be at least ${min}`),
        v.maxValue(max, `${name} must be at most ${max}`),
    );

const graphSchema = v.pipe(
    v.object({
        [settingNames.graphBaseUrl]: v.pipe(
            v.optional(v.string(), 'https://graph.microsoft.com'),
            v.trim(),
            v.url(`${settingNames.graphBaseUrl} must be an absolute URL`),
            v.check((s) => {
                const u = URL.canParse(s) ? new URL(s) : undefined;
                return !u || u.protocol === 'https:' || (u.protocol === 'http:' && isLoopback(u.hostname));
            }, `${settingNames.graphBaseUrl} must use https (plain http is allowed only for loopback stand-ins)`),
            v.check((s) => {
                const u = URL.canParse(s) ? new URL(s) : undefined;
                return !u || (!u.search && !u.hash && !u.username);
            }, `${settingNames.graphBaseUrl} must not carry a query, fragment or credentials`),
        ),
        [settingNames.graphApiVersion]: v.pipe(
            v.optional(v.string(), 'v1.0'),
            v.trim(),
            v.regex(/^(v1\.0|beta)$/, `${settingNames.graphApiVersion} must be 'v1.0' or 'beta'`),
        ),
        [settingNames.graphScope]: v.optional(
            v.pipe(v.string(), v.trim(), v.regex(/^https:\/\/[^\s/]+(\/[^\s]*)?\/\.default$/, `${settingNames.graphScope} must be an https '…/.default' scope`)),
        ),
        [settingNames.graphCredential]: v.pipe(
            v.optional(v.string(), 'managedidentity'),
            v.trim(),
            v.toLowerCase(),
            v.picklist(['managedidentity', 'default'], `${settingNames.graphCredential} must be 'managedidentity' or 'default'`),
        ),
        [settingNames.graphClientId]: v.optional(
            v.pipe(v.string(), v.trim(), v.uuid(`${settingNames.graphClientId} must be a GUID (the user-assigned identity's client id)`)),
        ),
        [settingNames.graphTimeoutMs]: intSetting(settingNames.graphTimeoutMs, 100, 120_000, 10_000),
        [settingNames.graphMaxConcurrency]: intSetting(settingNames.graphMaxConcurrency, 1, 256, 16),
        [settingNames.graphRetryBudgetMs]: intSetting(settingNames.graphRetryBudgetMs, 0, 60_000, 5_000),
        [settingNames.graphBatching]: v.pipe(
            v.optional(v.string(), 'on'),
            v.trim(),
            v.toLowerCase(),
            v.picklist(['on', 'off'], `${settingNames.graphBatching} must be 'on' or 'off'`),
        ),
        [settingNames.queueName]: v.pipe(
            v.optional(v.string(), 'compliance-aggregates'),
            v.trim(),
            v.regex(/^[A-Za-z0-9][A-Za-z0-9._\-/]{0,259}$/, `${settingNames.queueName} must be a valid Service Bus queue name`),
        ),
        [settingNames.batchBudgetMs]: intSetting(settingNames.batchBudgetMs, 1_000, 600_000, 45_000),
        [settingNames.retryMaxAttempts]: intSetting(settingNames.retryMaxAttempts, 1, 1_000, defaultRetryPolicy.maxAttempts),
        [settingNames.retryMaxTotalMinutes]: intSetting(settingNames.retryMaxTotalMinutes, 1, 7 * 24 * 60, defaultRetryPolicy.maxTotalMs / 60_000),
        [settingNames.retryBaseDelayMs]: intSetting(settingNames.retryBaseDelayMs, 10, 3_600_000, defaultRetryPolicy.baseDelayMs),
        [settingNames.retryMaxDelayMs]: intSetting(settingNames.retryMaxDelayMs, 10, 24 * 3_600_000, defaultRetryPolicy.maxDelayMs),
        [settingNames.circuitCoolDownMs]: intSetting(settingNames.circuitCoolDownMs, 10, 3_600_000, 30_000),
    }),
);

const serviceBusSchema = v.pipe(
    v.object({
        [settingNames.serviceBusConnection]: v.optional(v.pipe(v.string(), v.trim())),
        [settingNames.serviceBusNamespace]: v.optional(v.pipe(v.string(), v.trim())),
        [settingNames.serviceBusCredential]: v.optional(v.pipe(v.string(), v.trim(), v.toLowerCase())),
        [settingNames.serviceBusClientId]: v.optional(v.pipe(v.string(), v.trim())),
    }),
);

function issuesOf(result: { issues?: readonly v.BaseIssue<unknown>[] }): string[] {
    return (result.issues ?? []).map((i) => {
        const key = i.path?.map((p) => String(p.key)).join('.');
        return key && !i.message.startsWith(key) ? `${key}: ${i.message}` : i.message;
    });
}

function pick(env: Environment, keys: readonly string[]): Record<string, string> {
    const out: Record<string, string> = {};
    for (const k of keys) {
        const value = env[k];
        if (value !== undefined && value !== '') out[k] = value;
    }
    return out;
}

function parseIngest(env: Environment, problems: string[]): IngestConfig | undefined {
    const result = v.safeParse(graphSchema, pick(env, Object.values(settingNames)));
    if (!result.success) {
        problems.push(...issuesOf(result));
        return undefined;
    }
    const o = result.output;
    const base = new URL(o[settingNames.graphBaseUrl]);
    const baseUrl = `${base.origin}${base.pathname.replace(/\/+$/, '')}`;
    const graphClientId = o[settingNames.graphClientId];
    const scope = o[settingNames.graphScope] ?? `${base.origin}/.default`;
    // A token must only ever travel to the origin it was issued for; loopback stand-ins imitate Graph's audience.
    if (new URL(scope).origin !== base.origin && base.protocol !== 'http:') {
        problems.push(`${settingNames.graphScope} must be for the ${settingNames.graphBaseUrl} origin (${base.origin}), so tokens never travel elsewhere`);
        return undefined;
    }
    return {
        queueName: o[settingNames.queueName],
        batchBudgetMs: o[settingNames.batchBudgetMs],
        retry: {
            maxAttempts: o[settingNames.retryMaxAttempts],
            maxTotalMs: o[settingNames.retryMaxTotalMinutes] * 60_000,
            baseDelayMs: o[settingNames.retryBaseDelayMs],
            maxDelayMs: Math.max(o[settingNames.retryMaxDelayMs], o[settingNames.retryBaseDelayMs]),
            jitter: defaultRetryPolicy.jitter,
        },
        circuitCoolDownMs: o[settingNames.circuitCoolDownMs],
        graph: {
            baseUrl,
            apiVersion: o[settingNames.graphApiVersion],
            scope,
            credential: o[settingNames.graphCredential],
            ...(graphClientId ? { clientId: graphClientId.toLowerCase() } : {}),
            timeoutMs: o[settingNames.graphTimeoutMs],
            maxConcurrency: o[settingNames.graphMaxConcurrency],
            retryBudgetMs: o[settingNames.graphRetryBudgetMs],
            batching: o[settingNames.graphBatching] === 'on',
            insecureLoopback: base.protocol === 'http:',
        },
    };
}

function parseServiceBus(env: Environment, problems: string[]): ServiceBusConfig | undefined {
    const result = v.safeParse(serviceBusSchema, pick(env, Object.values(settingNames)));
    if (!result.success) {
        problems.push(...issuesOf(result));
        return undefined;
    }
    const o = result.output;
    const connection = o[settingNames.serviceBusConnection];
    const namespace = o[settingNames.serviceBusNamespace];
    if (connection && namespace) {
        problems.push(`set either ${settingNames.serviceBusConnection} (a connection string) or ${settingNames.serviceBusNamespace}, not both`);
        return undefined;
    }
    if (connection) {
        if (!/(^|;)\s*Endpoint\s*=\s*sb:\/\//i.test(connection)) {
            // A bare namespace here is a classic mistake: the SDK would parse it as a connection string.
            problems.push(`${settingNames.serviceBusConnection} must be a connection string starting with 'Endpoint=sb://'; for identity-based access use ${settingNames.serviceBusNamespace}`);
            return undefined;
        }
        return { kind: 'connectionString', connectionString: connection };
    }
    if (namespace) {
        let ok = true;
        if (!/^[a-z0-9][a-z0-9-]{0,48}[a-z0-9]?(\.[a-z0-9-]+)+$/i.test(namespace)) {
            problems.push(`${settingNames.serviceBusNamespace} must be a host name such as 'mynamespace.servicebus.windows.net'`);
            ok = false;
        }
        const credential = o[settingNames.serviceBusCredential];
        if (credential !== undefined && credential !== 'managedidentity') {
            problems.push(`${settingNames.serviceBusCredential} must be 'managedidentity' when set`);
            ok = false;
        }
        const clientId = o[settingNames.serviceBusClientId];
        if (clientId !== undefined && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(clientId)) {
            problems.push(`${settingNames.serviceBusClientId} must be a GUID`);
            ok = false;
        }
        return ok ? { kind: 'identity', fullyQualifiedNamespace: namespace, ...(clientId ? { clientId } : {}) } : undefined;
    }
    problems.push(`no Service Bus configured: set ${settingNames.serviceBusConnection} or ${settingNames.serviceBusNamespace}`);
    return undefined;
}

/** Settings for the Function: the host owns the Service Bus connection. Throws one error listing every problem. */
export function loadIngestConfig(env: Environment = process.env): IngestConfig {
    const problems: string[] = [];
    const config = parseIngest(env, problems);
    if (!config || problems.length) throw new ConfigurationError(problems);
    return config;
}

/** Settings for the standalone worker and the CLI, which also connect to Service Bus themselves. */
export function loadWorkerConfig(env: Environment = process.env): WorkerConfig {
    const problems: string[] = [];
    const ingest = parseIngest(env, problems);
    const serviceBus = parseServiceBus(env, problems);
    if (!ingest || !serviceBus || problems.length) throw new ConfigurationError(problems);
    return { ...ingest, serviceBus };
}

/** True when any Service Bus setting is present (decides whether `npm start` uses the embedded stand-ins). */
export function hasServiceBusSettings(env: Environment = process.env): boolean {
    return Boolean(env[settingNames.serviceBusConnection] || env[settingNames.serviceBusNamespace]);
}
