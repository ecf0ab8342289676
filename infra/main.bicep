// compliance-ingest on Azure: a Flex Consumption Function App triggered by a Service Bus queue, writing
// to Microsoft Graph. One user-assigned identity does everything; no keys, SAS or connection strings.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names the resource group and seeds the resource token.')
param environmentName string

@minLength(1)
@description('Region for every resource; it must offer Flex Consumption.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the person or pipeline running azd (AZURE_PRINCIPAL_ID). Empty: no deployer roles.')
param principalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
])
param principalType string = 'User'

@description('Give the deployer Data Sender and Data Receiver on the queue, to send samples and replay dead letters.')
param grantDeployerAccess bool = true

@description('Private endpoints for storage and Service Bus, app VNet integration, public access off. Forces Service Bus Premium.')
param vnetEnabled bool = false

@description('Service Bus tier. Ignored when vnetEnabled: private endpoints need Premium.')
@allowed([
  'Standard'
  'Premium'
])
param serviceBusSkuName string = 'Standard'

@description('Queue the Function is triggered by.')
param queueName string = 'compliance-aggregates'

@description('Flex Consumption scale-out ceiling. Graph requests in flight ≤ this × GRAPH_MAX_CONCURRENCY (docs/deploy.md).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory per instance.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Graph origin (plus optional path prefix); a service that accepts the create may live elsewhere.')
param graphBaseUrl string = 'https://graph.microsoft.com'

@allowed([
  'v1.0'
  'beta'
])
param graphApiVersion string = 'v1.0'

@description('Graph writes in flight per instance.')
@minValue(1)
@maxValue(256)
param graphMaxConcurrency int = 8

@description('Time one batch may take before unfinished messages are given back; well inside the queue\'s 2-minute lock.')
@minValue(1000)
@maxValue(90000)
param ingestBatchBudgetMs int = 45000

@description('Grant the Graph application permission with the Microsoft Graph Bicep extension (needs Entra admin rights).')
param grantGraphAppRole bool = false

@description('Graph application permission to grant, looked up by value among Microsoft Graph\'s app roles.')
param graphAppRoleValue string = 'ManagedTenants.ReadWrite.All'

@description('Id of that app role; overrides the lookup by value when set.')
param graphAppRoleId string = ''

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = '${abbrs.webSitesFunctions}api-${resourceToken}'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'
// Private endpoints exist only on Premium, so the VNet decides the tier.
var effectiveServiceBusSku = vnetEnabled ? 'Premium' : serviceBusSkuName
var deployerPrincipalId = grantDeployerAccess ? principalId : ''

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'br/public:avm/res/managed-identity/user-assigned-identity:0.4.1' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
    identityPrincipalId: identity.outputs.principalId
    identityClientId: identity.outputs.clientId
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    publicNetworkAccessDisabled: vnetEnabled
    identityPrincipalId: identity.outputs.principalId
    identityClientId: identity.outputs.clientId
  }
}

module serviceBus 'app/servicebus.bicep' = {
  name: 'servicebus'
  scope: rg
  params: {
    name: '${abbrs.serviceBusNamespaces}${resourceToken}'
    location: location
    tags: tags
    skuName: effectiveServiceBusSku
    publicNetworkAccessDisabled: vnetEnabled
    queueName: queueName
    identityPrincipalId: identity.outputs.principalId
    identityClientId: identity.outputs.clientId
    deployerPrincipalId: deployerPrincipalId
    deployerPrincipalType: principalType
  }
}

module network 'app/network.bicep' = if (vnetEnabled) {
  name: 'network'
  scope: rg
  params: {
    name: '${abbrs.networkVirtualNetworks}${resourceToken}'
    location: location
    tags: tags
  }
}

module privateEndpoints 'app/private-endpoints.bicep' = if (vnetEnabled) {
  name: 'private-endpoints'
  scope: rg
  params: {
    location: location
    tags: tags
    namePrefix: '${abbrs.networkPrivateEndpoints}${resourceToken}'
    virtualNetworkResourceId: network!.outputs.resourceId
    storageSubnetResourceId: network!.outputs.storageSubnetResourceId
    serviceBusSubnetResourceId: network!.outputs.serviceBusSubnetResourceId
    storageAccountResourceId: storage.outputs.resourceId
    serviceBusNamespaceResourceId: serviceBus.outputs.resourceId
  }
}

// Settings the Graph client reads. The token comes from the same user-assigned identity.
var graphSettings = {
  AZURE_CLIENT_ID: identity.outputs.clientId
  GRAPH_CREDENTIAL: 'managedidentity'
  GRAPH_BASE_URL: graphBaseUrl
  GRAPH_API_VERSION: graphApiVersion
  GRAPH_MAX_CONCURRENCY: string(graphMaxConcurrency)
}

var ingestSettings = {
  INGEST_BATCH_BUDGET_MS: string(ingestBatchBudgetMs)
}

// Each module outputs exactly the settings its role assignments make usable; nothing is typed twice.
var appSettings = union(
  storage.outputs.appSettings,
  monitoring.outputs.appSettings,
  serviceBus.outputs.appSettings,
  graphSettings,
  ingestSettings
)

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    serviceName: 'api'
    identityResourceId: identity.outputs.resourceId
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    appSettings: appSettings
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    subnetResourceId: vnetEnabled ? network!.outputs.appSubnetResourceId : ''
  }
  // With the VNet on, storage is private: the host must not start before its endpoint resolves.
  dependsOn: [
    privateEndpoints
  ]
}

module graphAppRole 'app/graph-app-role.bicep' = if (grantGraphAppRole) {
  name: 'graph-app-role'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    appRoleValue: graphAppRoleValue
    appRoleId: graphAppRoleId
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output SERVICEBUS_NAMESPACE_FQDN string = serviceBus.outputs.fullyQualifiedNamespace
output COMPLIANCE_QUEUE_NAME string = serviceBus.outputs.queueName
output API_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output API_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.name
