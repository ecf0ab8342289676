// Private endpoints and private DNS for the blob endpoint of host storage and for the Service Bus
// namespace, used when the VNet is on (both resources then refuse public traffic).

param location string = resourceGroup().location
param tags object = {}

param virtualNetworkResourceId string
param storageSubnetResourceId string
param serviceBusSubnetResourceId string

param storageAccountResourceId string
param serviceBusNamespaceResourceId string

@description('Prefix for the private endpoint names, e.g. "pep-<token>".')
param namePrefix string

var zones = {
  blob: 'privatelink.blob.${environment().suffixes.storage}'
  // Service Bus has no environment() suffix; this is the public-cloud zone.
  serviceBus: 'privatelink.servicebus.windows.net'
}

module blobZone 'br/public:avm/res/network/private-dns-zone:0.7.1' = {
  name: 'blob-private-dns-zone'
  params: {
    name: zones.blob
    location: 'global'
    tags: tags
    virtualNetworkLinks: [
      {
        name: 'blob-link'
        virtualNetworkResourceId: virtualNetworkResourceId
        registrationEnabled: false
      }
    ]
  }
}

module serviceBusZone 'br/public:avm/res/network/private-dns-zone:0.7.1' = {
  name: 'servicebus-private-dns-zone'
  params: {
    name: zones.serviceBus
    location: 'global'
    tags: tags
    virtualNetworkLinks: [
      {
        name: 'servicebus-link'
        virtualNetworkResourceId: virtualNetworkResourceId
        registrationEnabled: false
      }
    ]
  }
}

module blobEndpoint 'br/public:avm/res/network/private-endpoint:0.11.0' = {
  name: 'blob-private-endpoint'
  params: {
    name: '${namePrefix}-blob'
    location: location
    tags: tags
    subnetResourceId: storageSubnetResourceId
    privateLinkServiceConnections: [
      {
        name: 'blob'
        properties: {
          privateLinkServiceId: storageAccountResourceId
          groupIds: [
            'blob'
          ]
        }
      }
    ]
    privateDnsZoneGroup: {
      privateDnsZoneGroupConfigs: [
        {
          privateDnsZoneResourceId: blobZone.outputs.resourceId
        }
      ]
    }
  }
}

module serviceBusEndpoint 'br/public:avm/res/network/private-endpoint:0.11.0' = {
  name: 'servicebus-private-endpoint'
  params: {
    name: '${namePrefix}-sb'
    location: location
    tags: tags
    subnetResourceId: serviceBusSubnetResourceId
    privateLinkServiceConnections: [
      {
        name: 'namespace'
        properties: {
          privateLinkServiceId: serviceBusNamespaceResourceId
          groupIds: [
            'namespace'
          ]
        }
      }
    ]
    privateDnsZoneGroup: {
      privateDnsZoneGroupConfigs: [
        {
          privateDnsZoneResourceId: serviceBusZone.outputs.resourceId
        }
      ]
    }
  }
}
