// The Function App on Flex Consumption (FC1). It receives its app settings whole from main.bicep, where
// they are the union of what each dependency module outputs.

param name string
param planName string
param location string = resourceGroup().location
param tags object = {}

@description('azd finds the deploy target by this tag.')
param serviceName string = 'api'

@description('Resource id of the user-assigned identity used for deployment, storage, Service Bus, telemetry and Graph.')
param identityResourceId string

@description('Blob container URL the app package is deployed to.')
param deploymentContainerUrl string

@description('App settings (string values only).')
param appSettings object

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Subnet (delegated to Microsoft.App/environments) for VNet integration; empty for none.')
param subnetResourceId string = ''

module plan 'br/public:avm/res/web/serverfarm:0.1.1' = {
  name: '${planName}-plan'
  params: {
    name: planName
    location: location
    tags: tags
    sku: {
      name: 'FC1'
      tier: 'FlexConsumption'
    }
    reserved: true
  }
}

module site 'br/public:avm/res/web/site:0.16.0' = {
  name: '${name}-site'
  params: {
    name: name
    kind: 'functionapp,linux'
    location: location
    tags: union(tags, { 'azd-service-name': serviceName })
    serverFarmResourceId: plan.outputs.resourceId
    httpsOnly: true
    managedIdentities: {
      systemAssigned: false
      userAssignedResourceIds: [
        identityResourceId
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityResourceId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
    siteConfig: {
      alwaysOn: false
    }
    virtualNetworkSubnetId: !empty(subnetResourceId) ? subnetResourceId : null
    configs: [
      {
        name: 'appsettings'
        // Bicep is the source of truth: settings removed here are removed from the app.
        retainCurrentAppSettings: false
        properties: appSettings
      }
    ]
  }
}

output name string = site.outputs.name
output resourceId string = site.outputs.resourceId
output defaultHostname string = site.outputs.defaultHostname
