// Host storage (AzureWebJobsStorage) and the Flex deployment container, identity-only. Owns the storage
// role assignment and outputs the AzureWebJobsStorage__* settings that rely on it.

param name string
param location string = resourceGroup().location
param tags object = {}

@description('Blob container Flex Consumption deploys the app package to.')
param deploymentContainerName string

@description('When true the account is reachable only through its private endpoint.')
param publicNetworkAccessDisabled bool = false

param identityPrincipalId string
param identityClientId string

var blobDataOwnerRoleId = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // Storage Blob Data Owner

module account 'br/public:avm/res/storage/storage-account:0.25.0' = {
  name: '${name}-account'
  params: {
    name: name
    location: location
    tags: tags
    skuName: 'Standard_LRS'
    // No account keys and no anonymous reads: the host and the deployment use the identity only.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    dnsEndpointType: 'Standard'
    publicNetworkAccess: publicNetworkAccessDisabled ? 'Disabled' : 'Enabled'
    networkAcls: publicNetworkAccessDisabled
      ? {
          defaultAction: 'Deny'
          bypass: 'None'
        }
      : {
          defaultAction: 'Allow'
          bypass: 'AzureServices'
        }
    blobServices: {
      containers: [
        {
          name: deploymentContainerName
          publicAccess: 'None'
        }
      ]
    }
  }
}

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: name
}

// Blob Data Owner covers the deployment package, host leases and keys. Only the blob endpoint is enabled:
// a Service Bus trigger needs no storage queues or tables (those serve Durable Functions and blob triggers),
// so Storage Queue/Table Data Contributor are deliberately not granted.
resource blobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount.id, identityPrincipalId, blobDataOwnerRoleId)
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataOwnerRoleId)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
  dependsOn: [
    account
  ]
}

output name string = account.outputs.name
output resourceId string = account.outputs.resourceId
output blobEndpoint string = account.outputs.primaryBlobEndpoint
output deploymentContainerUrl string = '${account.outputs.primaryBlobEndpoint}${deploymentContainerName}'

@description('Identity-based AzureWebJobsStorage for the Functions host (blob only).')
output appSettings object = {
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: account.outputs.primaryBlobEndpoint
}
