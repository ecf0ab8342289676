// Grants one Microsoft Graph application permission (an app role) to the app's identity, through the
// Microsoft Graph Bicep extension. The deployer needs AppRoleAssignment.ReadWrite.All and
// Application.Read.All in Entra ID (e.g. Privileged Role Administrator). Where that is not possible, use
// infra/scripts/grant-graph-app-role.sh instead (see docs/deploy.md).
extension microsoftGraphV1

@description('Principal (object) id of the identity that receives the app role.')
param principalId string

@description('Value of the Graph application permission, e.g. "ManagedTenants.ReadWrite.All".')
param appRoleValue string

@description('Id of the app role; when set it is used as is and appRoleValue is only informative.')
param appRoleId string = ''

// Microsoft Graph's application id is the same in every tenant and cloud.
resource graph 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: '00000003-0000-0000-c000-000000000000'
}

// Only roles an application may hold count: a delegated-only permission has no app role to assign.
var matchingRoles = filter(
  graph.appRoles,
  role => role.value == appRoleValue && contains(role.allowedMemberTypes, 'Application')
)

var resolvedRoleId = !empty(appRoleId)
  ? appRoleId
  : length(matchingRoles) == 1
      ? matchingRoles[0].id
      : fail('Microsoft Graph has no application permission "${appRoleValue}". Set GRAPH_APP_ROLE to an application permission, or GRAPH_APP_ROLE_ID to its id (docs/deploy.md).')

resource assignment 'Microsoft.Graph/appRoleAssignedTo@v1.0' = {
  principalId: principalId
  resourceId: graph.id
  appRoleId: resolvedRoleId
}

output appRoleId string = assignment.appRoleId
