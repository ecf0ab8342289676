#!/bin/sh
# Grants a Microsoft Graph application permission (app role) to the Function's user-assigned identity
# with plain `az rest` calls: the fallback for tenants where the Graph Bicep extension cannot be used.
#
# Runs as azd's postprovision hook (azd exports the deployment outputs as environment variables) or by
# hand. It does nothing unless GRANT_GRAPH_APP_ROLE_BY_SCRIPT=true, and it is idempotent.
#
# Environment:
#   GRANT_GRAPH_APP_ROLE_BY_SCRIPT  'true' to act; anything else: print why nothing was done, exit 0
#   API_IDENTITY_PRINCIPAL_ID       object id of the identity (an azd output)
#   GRAPH_APP_ROLE                  permission value, default ManagedTenants.ReadWrite.All
#   GRAPH_APP_ROLE_ID               app role id; skips the lookup by value when set
#
# Needs `az login` as someone who may grant application permissions (AppRoleAssignment.ReadWrite.All and
# Application.Read.All, e.g. Privileged Role Administrator).
# Exit codes: 0 granted, already granted or skipped; 1 usage or az failure; 2 no such application permission.
set -eu

graph_app_id='00000003-0000-0000-c000-000000000000'
role_value="${GRAPH_APP_ROLE:-ManagedTenants.ReadWrite.All}"
role_id="${GRAPH_APP_ROLE_ID:-}"

say() { printf 'grant-graph-app-role: %s\n' "$*" >&2; }

if [ "${GRANT_GRAPH_APP_ROLE_BY_SCRIPT:-false}" != 'true' ]; then
    say "skipped (set GRANT_GRAPH_APP_ROLE_BY_SCRIPT=true to grant '$role_value' to the app's identity)"
    exit 0
fi

guid='^[0-9a-fA-F]\{8\}-[0-9a-fA-F]\{4\}-[0-9a-fA-F]\{4\}-[0-9a-fA-F]\{4\}-[0-9a-fA-F]\{12\}$'
principal_id="${API_IDENTITY_PRINCIPAL_ID:-}"
if ! printf '%s' "$principal_id" | grep -q "$guid"; then
    say 'API_IDENTITY_PRINCIPAL_ID must be the identity object id; run after provisioning (azd env get-value API_IDENTITY_PRINCIPAL_ID)'
    exit 1
fi
# Both values end up inside JMESPath queries and a JSON body: accept only their documented shapes.
if ! printf '%s' "$role_value" | grep -q '^[A-Za-z0-9._-]\{1,120\}$'; then
    say "GRAPH_APP_ROLE '$role_value' is not a permission value such as ManagedTenants.ReadWrite.All"
    exit 1
fi
if [ -n "$role_id" ] && ! printf '%s' "$role_id" | grep -q "$guid"; then
    say 'GRAPH_APP_ROLE_ID must be a GUID'
    exit 1
fi

if ! az account show --output none 2>/dev/null; then
    say 'the Azure CLI is not signed in; run: az login'
    exit 1
fi

# The Graph endpoint of the CLI's current cloud (national clouds differ), without a trailing slash.
graph="$(az cloud show --query endpoints.microsoftGraphResourceId --output tsv)"
graph="${graph%/}"

graph_sp_id="$(az rest --method GET \
    --url "$graph/v1.0/servicePrincipals(appId='$graph_app_id')?\$select=id" \
    --query id --output tsv)"

if [ -z "$role_id" ]; then
    # Only app roles an application may hold: a delegated-only permission cannot be granted to an identity.
    role_id="$(az rest --method GET \
        --url "$graph/v1.0/servicePrincipals/$graph_sp_id?\$select=appRoles" \
        --query "appRoles[?value=='$role_value' && contains(allowedMemberTypes, 'Application')].id | [0]" \
        --output tsv)"
    if [ -z "$role_id" ] || [ "$role_id" = 'None' ]; then
        say "Microsoft Graph has no application permission '$role_value' (it may exist only as a delegated permission)."
        say 'Set GRAPH_APP_ROLE to an application permission, or GRAPH_APP_ROLE_ID to its id; see docs/deploy.md.'
        exit 2
    fi
fi

existing="$(az rest --method GET \
    --url "$graph/v1.0/servicePrincipals/$principal_id/appRoleAssignments" \
    --query "value[?appRoleId=='$role_id' && resourceId=='$graph_sp_id'].id | [0]" \
    --output tsv)"
if [ -n "$existing" ] && [ "$existing" != 'None' ]; then
    say "already granted: '$role_value' ($role_id) to $principal_id"
    exit 0
fi

az rest --method POST \
    --url "$graph/v1.0/servicePrincipals/$graph_sp_id/appRoleAssignedTo" \
    --headers 'Content-Type=application/json' \
    --body "{\"principalId\":\"$principal_id\",\"resourceId\":\"$graph_sp_id\",\"appRoleId\":\"$role_id\"}" \
    --output none
say "granted: '$role_value' ($role_id) to $principal_id; the app sees it only in new tokens (managed-identity tokens are cached for hours)"
