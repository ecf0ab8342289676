// Service Bus namespace and the ingest queue, identity-only. This module owns the queue-scoped role
// assignments AND outputs the app settings that use them, so settings and permissions cannot drift.

@description('Namespace name.')
param name string

param location string = resourceGroup().location
param tags object = {}

@description('Standard, or Premium (required for private endpoints; main.bicep forces Premium when the VNet is on).')
@allowed([
  'Standard'
  'Premium'
])
param skuName string = 'Standard'

@description('When true the namespace is reachable only through its private endpoint.')
param publicNetworkAccessDisabled bool = false

@description('Queue the Function is triggered by (app setting COMPLIANCE_QUEUE_NAME).')
param queueName string = 'compliance-aggregates'

@description('Principal id of the app\'s user-assigned identity.')
param identityPrincipalId string

@description('Client id of the same identity; the trigger needs it to pick the user-assigned identity.')
param identityClientId string

@description('Object id of a person or pipeline that sends samples and replays the dead-letter queue. Empty: none.')
param deployerPrincipalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
])
param deployerPrincipalType string = 'User'

var roleIds = {
  dataReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0' // Azure Service Bus Data Receiver
  dataSender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39' // Azure Service Bus Data Sender
}

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: name
  location: location
  tags: tags
  sku: skuName == 'Premium'
    ? {
        name: 'Premium'
        tier: 'Premium'
        capacity: 1
      }
    : {
        name: skuName
        tier: skuName
      }
  properties: {
    // SAS keys off: every client, the trigger included, must authenticate with Entra ID.
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: publicNetworkAccessDisabled ? 'Disabled' : 'Enabled'
  }
}

resource queue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = {
  parent: namespace
  name: queueName
  properties: {
    // One batch (INGEST_BATCH_BUDGET_MS, 45 s by default) must finish well inside the lock.
    lockDuration: 'PT2M'
    maxDeliveryCount: 10
    // A producer's resend with the same MessageId inside the window is dropped by the broker.
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT10M'
    deadLetteringOnMessageExpiration: true
    defaultMessageTimeToLive: 'P14D'
    requiresSession: false
    enablePartitioning: false
  }
}

// Least privilege: both roles on the queue only, never on the namespace, and no Data Owner.
// Receiver: the trigger receives, completes, abandons and dead-letters.
resource identityReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(queue.id, identityPrincipalId, roleIds.dataReceiver)
  scope: queue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.dataReceiver)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Sender: delayed retries are scheduled copies on the same queue, and dead-letter replay resends to it.
resource identitySender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(queue.id, identityPrincipalId, roleIds.dataSender)
  scope: queue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.dataSender)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The deployer gets the same two queue roles to send samples and to peek and replay the dead-letter queue.
resource deployerReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(queue.id, deployerPrincipalId, roleIds.dataReceiver)
  scope: queue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.dataReceiver)
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
  }
}

resource deployerSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(queue.id, deployerPrincipalId, roleIds.dataSender)
  scope: queue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.dataSender)
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
  }
}

// 'https://<ns>.servicebus.windows.net:443/' → '<ns>.servicebus.windows.net' (also right in sovereign clouds).
var fullyQualifiedNamespace = replace(replace(namespace.properties.serviceBusEndpoint, 'https://', ''), ':443/', '')

output name string = namespace.name
output resourceId string = namespace.id
output fullyQualifiedNamespace string = fullyQualifiedNamespace
output queueName string = queue.name

@description('Identity-based connection "ServiceBusConnection" (all three settings are needed for a user-assigned identity) and the queue name.')
output appSettings object = {
  ServiceBusConnection__fullyQualifiedNamespace: fullyQualifiedNamespace
  ServiceBusConnection__credential: 'managedidentity'
  ServiceBusConnection__clientId: identityClientId
  COMPLIANCE_QUEUE_NAME: queue.name
}
