// Optional VNet: the app's outbound traffic enters through a delegated subnet, and storage and Service
// Bus are reached through private endpoints in their own subnets.

param name string
param location string = resourceGroup().location
param tags object = {}

var subnetNames = {
  app: 'app'
  storage: 'st'
  serviceBus: 'sb'
}

module vnet 'br/public:avm/res/network/virtual-network:0.6.1' = {
  name: '${name}-vnet'
  params: {
    name: name
    location: location
    tags: tags
    addressPrefixes: [
      '10.0.0.0/16'
    ]
    subnets: [
      {
        // Flex Consumption VNet integration needs a subnet delegated to Microsoft.App/environments.
        name: subnetNames.app
        addressPrefix: '10.0.0.0/23'
        delegation: 'Microsoft.App/environments'
        privateEndpointNetworkPolicies: 'Disabled'
        privateLinkServiceNetworkPolicies: 'Enabled'
      }
      {
        name: subnetNames.storage
        addressPrefix: '10.0.2.0/24'
        privateEndpointNetworkPolicies: 'Disabled'
        privateLinkServiceNetworkPolicies: 'Enabled'
      }
      {
        name: subnetNames.serviceBus
        addressPrefix: '10.0.3.0/24'
        privateEndpointNetworkPolicies: 'Disabled'
        privateLinkServiceNetworkPolicies: 'Enabled'
      }
    ]
  }
}

output resourceId string = vnet.outputs.resourceId
output appSubnetResourceId string = '${vnet.outputs.resourceId}/subnets/${subnetNames.app}'
output storageSubnetResourceId string = '${vnet.outputs.resourceId}/subnets/${subnetNames.storage}'
output serviceBusSubnetResourceId string = '${vnet.outputs.resourceId}/subnets/${subnetNames.serviceBus}'
