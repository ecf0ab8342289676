import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import { RetryMode, ServiceBusClient, type ServiceBusClientOptions } from '@azure/service-bus';

import type { ServiceBusConfig } from './config';

/**
 * The SDK's defaults wait 30 s between retries and a minute per try, so one settlement caught by a dropped
 * connection held a receive loop (and a graceful shutdown) for about 90 s. Shorter, exponential retries.
 */
export const clientOptions: ServiceBusClientOptions = {
    retryOptions: { mode: RetryMode.Exponential, maxRetries: 3, retryDelayInMs: 500, maxRetryDelayInMs: 5_000, timeoutInMs: 20_000 },
};

/**
 * A Service Bus client from the same settings the Functions host reads: a connection string, or the
 * identity-based `ServiceBusConnection__*` trio (managed identity with a client id in Azure, the
 * developer's own credentials locally when no credential is named).
 */
export function createServiceBusClient(config: ServiceBusConfig, options: ServiceBusClientOptions = clientOptions): ServiceBusClient {
    if (config.kind === 'connectionString') return new ServiceBusClient(config.connectionString, options);
    const credential = config.clientId
        ? new ManagedIdentityCredential({ clientId: config.clientId })
        : new DefaultAzureCredential();
    return new ServiceBusClient(config.fullyQualifiedNamespace, credential, options);
}
