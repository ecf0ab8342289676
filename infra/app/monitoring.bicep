// Log Analytics + Application Insights with Entra-only ingestion. Owns the Monitoring Metrics Publisher
// role and outputs the APPLICATIONINSIGHTS_* settings that rely on it.

param logAnalyticsName string
param applicationInsightsName string
param location string = resourceGroup().location
param tags object = {}

param identityPrincipalId string
param identityClientId string

var metricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb' // Monitoring Metrics Publisher

module workspace 'br/public:avm/res/operational-insights/workspace:0.11.1' = {
  name: '${logAnalyticsName}-workspace'
  params: {
    name: logAnalyticsName
    location: location
    tags: tags
    dataRetention: 30
  }
}

module component 'br/public:avm/res/insights/component:0.6.0' = {
  name: '${applicationInsightsName}-component'
  params: {
    name: applicationInsightsName
    location: location
    tags: tags
    workspaceResourceId: workspace.outputs.resourceId
    // Instrumentation-key ingestion off: telemetry is accepted only with an Entra token.
    disableLocalAuth: true
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, identityPrincipalId, metricsPublisherRoleId)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', metricsPublisherRoleId)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
  dependsOn: [
    component
  ]
}

output name string = component.outputs.name
output resourceId string = component.outputs.resourceId
output connectionString string = component.outputs.connectionString

@description('Entra-authenticated Application Insights for the Functions host and the worker.')
output appSettings object = {
  APPLICATIONINSIGHTS_CONNECTION_STRING: component.outputs.connectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
}
