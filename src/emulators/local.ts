import type { Environment } from '../config';
import type { Logger } from '../log';
import { startGraphStandIn, type GraphStandIn } from './graph';
import { startIdentityStandIn, type IdentityStandIn } from './identity';
import { defaultEmulatorConfig, parseEmulatorConfig, startServiceBusEmulator, type ServiceBusEmulator } from './servicebus';

export const defaultPorts = { serviceBus: 5672, graph: 5680, identity: 5681 } as const;
export const localIdentityHeader = 'local-dev-identity-header';

export interface LocalStandIns {
    readonly serviceBus: ServiceBusEmulator;
    readonly graph: GraphStandIn;
    readonly identity: IdentityStandIn;
    readonly queueNames: readonly string[];
    /** The settings a client (worker, CLI, `func start`) needs to use these stand-ins. */
    readonly settings: Readonly<Record<string, string>>;
    close(): Promise<void>;
}

export interface LocalStandInOptions {
    readonly ports?: Partial<Record<keyof typeof defaultPorts, number>>;
    readonly config?: ReturnType<typeof parseEmulatorConfig>;
    /** Take an ephemeral port when the wanted one is busy (npm start next to a running `emulators`). */
    readonly fallbackToEphemeral?: boolean;
    readonly logger?: Logger;
}

async function onPort<T>(port: number, fallback: boolean, start: (port: number) => Promise<T>): Promise<T> {
    try {
        return await start(port);
    } catch (err) {
        if (fallback && (err as NodeJS.ErrnoException).code === 'EADDRINUSE') return start(0);
        throw err;
    }
}

/** Start the Service Bus emulator, the identity stand-in and the Graph stand-in on loopback. */
export async function startLocalStandIns(options: LocalStandInOptions = {}): Promise<LocalStandIns> {
    const ports = { ...defaultPorts, ...options.ports };
    const fallback = options.fallbackToEphemeral ?? false;
    const config = options.config ?? parseEmulatorConfig(defaultEmulatorConfig);
    const identity = await onPort(ports.identity, fallback, (port) => startIdentityStandIn({ port, header: localIdentityHeader }));
    const graph = await onPort(ports.graph, fallback, (port) => startGraphStandIn({ port, identity: identity.verificationKey() })).catch(
        async (err: unknown) => {
            await identity.close();
            throw err;
        },
    );
    const serviceBus = await onPort(ports.serviceBus, fallback, (port) =>
        startServiceBusEmulator({ port, config, ...(options.logger ? { logger: options.logger } : {}) }),
    ).catch(async (err: unknown) => {
        await Promise.all([graph.close(), identity.close()]);
        throw err;
    });
    const queueNames = config.queues.map((q) => q.name);
    return {
        serviceBus,
        graph,
        identity,
        queueNames,
        settings: {
            ServiceBusConnection: serviceBus.connectionString,
            COMPLIANCE_QUEUE_NAME: queueNames[0] ?? 'compliance-aggregates',
            GRAPH_BASE_URL: graph.baseUrl,
            // The stand-in checks Graph's real audience, as Graph does.
            GRAPH_SCOPE: 'https://graph.microsoft.com/.default',
            GRAPH_API_VERSION: 'v1.0',
            GRAPH_CREDENTIAL: 'managedidentity',
            IDENTITY_ENDPOINT: identity.endpoint,
            IDENTITY_HEADER: identity.header,
        },
        async close() {
            await Promise.all([serviceBus.close(), graph.close(), identity.close()]);
        },
    };
}

/** Point this process's managed identity lookups at the stand-in (msal-node reads them on first use). */
export function useLocalIdentity(standIns: LocalStandIns, env: Record<string, string | undefined> = process.env): Environment {
    for (const k of ['IDENTITY_SERVER_THUMBPRINT', 'MSI_ENDPOINT', 'MSI_SECRET', 'IMDS_ENDPOINT']) delete env[k];
    env.IDENTITY_ENDPOINT = standIns.identity.endpoint;
    env.IDENTITY_HEADER = standIns.identity.header;
    return env;
}
