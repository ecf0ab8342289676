import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import { ServiceBusClient } from '@azure/service-bus';

import type { ServiceBusConfig } from './config';

/**
 * A Service Bus client from the same settings the Functions host reads: a connection string, or the
 * identity-based `ServiceBusConnection__*` trio (managed identity with a client id in Azure, the
 * developer's own credentials locally when no credential is named).
 */
export function createServiceBusClient(config: ServiceBusConfig): ServiceBusClient {
    if (config.kind === 'connectionString') return new ServiceBusClient(config.connectionString);
    const credential = config.clientId
        ? new ManagedIdentityCredential({ clientId: config.clientId })
        : new DefaultAzureCredential();
    return new ServiceBusClient(config.fullyQualifiedNamespace, credential);
}
