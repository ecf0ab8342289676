/**
 * The whole system on loopback for end-to-end tests: the Service Bus emulator, the identity stand-in,
 * the Graph stand-in, and the real worker composition. One stack per test file (msal-node keeps its
 * managed identity source process-wide).
 */
import { ServiceBusClient } from '@azure/service-bus';

import { createWriter } from '../../src/compose';
import { loadWorkerConfig, type WorkerConfig } from '../../src/config';
import { startGraphStandIn, type GraphStandIn } from '../../src/emulators/graph';
import { startIdentityStandIn, type IdentityStandIn } from '../../src/emulators/identity';
import { startServiceBusEmulator, type QueueProperties, type ServiceBusEmulator } from '../../src/emulators/servicebus';
import { runWorker, type WorkerOptions, type WorkerTotals } from '../../src/hosts/worker/worker';
import { memoryLogger } from '../../src/log';
import { CircuitBreaker } from '../../src/recoverability/circuit-breaker';

export const queue = 'compliance-aggregates';

export interface Stack {
    readonly serviceBus: ServiceBusEmulator;
    readonly graph: GraphStandIn;
    readonly identity: IdentityStandIn;
    readonly env: Record<string, string>;
    readonly config: WorkerConfig;
    readonly logger: ReturnType<typeof memoryLogger>;
    /** Send raw bodies (strings as given), as a producer would. */
    send(bodies: readonly (string | Buffer)[]): Promise<void>;
    /** Run the real worker until the queue has been idle for `idleMs`. */
    drain(options?: Partial<WorkerOptions> & { signal?: AbortSignal }): Promise<WorkerTotals>;
    close(): Promise<void>;
}

export async function startStack(
    options: { queue?: Partial<QueueProperties>; env?: Record<string, string> } = {},
): Promise<Stack> {
    const identity = await startIdentityStandIn();
    const graph = await startGraphStandIn({ identity: identity.verificationKey() });
    const serviceBus = await startServiceBusEmulator({ queues: [{ name: queue, properties: { lockDurationMs: 5_000, ...options.queue } }] });
    for (const k of ['IDENTITY_SERVER_THUMBPRINT', 'MSI_ENDPOINT', 'MSI_SECRET', 'IMDS_ENDPOINT', 'AZURE_FEDERATED_TOKEN_FILE']) delete process.env[k];
    process.env.IDENTITY_ENDPOINT = identity.endpoint;
    process.env.IDENTITY_HEADER = identity.header;
    const env = {
        ServiceBusConnection: serviceBus.connectionString,
        COMPLIANCE_QUEUE_NAME: queue,
        GRAPH_BASE_URL: graph.baseUrl,
        GRAPH_SCOPE: 'https://graph.microsoft.com/.default',
        GRAPH_TIMEOUT_MS: '2000',
        GRAPH_RETRY_BUDGET_MS: '300',
        RETRY_BASE_DELAY_MS: '50',
        RETRY_MAX_DELAY_MS: '400',
        CIRCUIT_COOLDOWN_MS: '200',
        ...options.env,
    };
    const config = loadWorkerConfig(env);
    const logger = memoryLogger();
    const client = new ServiceBusClient(serviceBus.connectionString);

    return {
        serviceBus,
        graph,
        identity,
        env,
        config,
        logger,
        async send(bodies) {
            const sender = client.createSender(queue);
            try {
                await sender.sendMessages(bodies.map((b) => ({ body: Buffer.isBuffer(b) ? b : Buffer.from(b, 'utf8'), contentType: 'application/json' })));
            } finally {
                await sender.close();
            }
        },
        async drain(overrides = {}) {
            const { signal, ...workerOverrides } = overrides;
            const circuit = new CircuitBreaker(logger, { coolDownMs: config.circuitCoolDownMs, maxCoolDownMs: 1_000, transientThreshold: 20 });
            const sender = client.createSender(queue);
            try {
                return await runWorker(
                    { queueName: queue, batchSize: 20, loops: 2, receiveWaitMs: 200, batchBudgetMs: 4_000, drainIdleMs: 1_500, ...workerOverrides },
                    { client, writer: circuit.wrap(createWriter(config.graph, logger)), logger, rescheduler: sender, retryPolicy: config.retry, circuit },
                    signal ?? new AbortController().signal,
                );
            } finally {
                await sender.close();
            }
        },
        async close() {
            await client.close();
            await Promise.all([serviceBus.close(), graph.close(), identity.close()]);
        },
    };
}

/** A valid aggregate body; `n` varies the ids, `refreshed` the refresh time. */
export function aggregate(n: number, refreshed = '2026-12-01T10:00:00Z', over: Record<string, unknown> = {}): Record<string, unknown> {
    const hex = n.toString(16).padStart(12, '0');
    return {
        tenantId: `11111111-2222-4333-8444-${hex}`,
        tenantDisplayName: `Tenant ${n}`,
        compliancePolicyId: `aaaaaaaa-bbbb-4ccc-8ddd-${hex}`,
        compliancePolicyName: `Policy ${n}`,
        compliancePolicyType: 'windows10CompliancePolicy',
        compliancePolicyPlatform: 'Windows10',
        numberOfCompliantDevices: n,
        numberOfNonCompliantDevices: 1,
        numberOfErrorDevices: 0,
        policyModifiedDateTime: '2026-11-01T00:00:00Z',
        lastRefreshedDateTime: refreshed,
        ...over,
    };
}

export const idOf = (n: number) => {
    const a = aggregate(n);
    return `${String(a.tenantId)}_${String(a.compliancePolicyId)}`;
};
