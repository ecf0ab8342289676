import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';
import YAML from 'yaml';

import { requiredDeployedSettings, settingNames } from '../../src/config';
import {
    type BicepFile,
    type Declaration,
    decoratorsOf,
    descendants,
    modules,
    parseBicep,
    property,
    propertyKey,
    propertyPath,
    readBicepFiles,
    resolveString,
    resources,
    stringValue,
    syntaxProblems,
    topLevel,
} from './bicep-tree';

const repoRoot = path.resolve(__dirname, '../..');
const files = readBicepFiles(repoRoot, 'infra');
const fileNamed = (name: string): BicepFile => {
    const file = files.find((f) => f.name === name);
    if (!file) throw new Error(`${name} not found`);
    return file;
};
const main = fileNamed('infra/main.bicep');
const allResources = files.flatMap(resources);
const allModules = files.flatMap(modules);

/** Every file under infra/, as text, for checks that must hold whatever the file type. */
const infraTexts: { name: string; text: string }[] = [];
(function walk(dir: string) {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else infraTexts.push({ name: path.relative(repoRoot, full), text: readFileSync(full, 'utf8') });
    }
})(path.join(repoRoot, 'infra'));

const readJson = (rel: string): unknown => JSON.parse(readFileSync(path.join(repoRoot, rel), 'utf8'));

const roles = {
    serviceBusDataReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0',
    serviceBusDataSender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39',
    serviceBusDataOwner: '090c5cfd-751d-490a-894a-3ce6f1109419',
    owner: '8e3af657-a8ff-443d-a75c-2fe8c4bcb635',
    storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
    storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
    storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
    monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
} as const;

const roleAssignments = allResources.filter((r) => r.target.startsWith('Microsoft.Authorization/roleAssignments@'));
const roleIdOf = (r: Declaration) => resolveString(r.file, propertyPath(r.body, 'properties.roleDefinitionId'));

/** Keys of every object literal in the Bicep: app settings are object keys wherever they are built. */
const objectKeys = new Set(files.flatMap((f) => descendants(f.root, 'object_property').map(propertyKey)));

function moduleNamed(file: BicepFile, symbol: string): Declaration {
    const found = modules(file).find((m) => m.symbol === symbol);
    if (!found) throw new Error(`module ${symbol} not found in ${file.name}`);
    return found;
}

function paramDecorators(file: BicepFile, name: string) {
    const param = topLevel(file, 'parameter_declaration').get(name);
    if (!param) throw new Error(`param ${name} not found in ${file.name}`);
    return { param, decorators: decoratorsOf(param) };
}

const numbersOf = (nodes: readonly { text: string }[] | undefined) => (nodes ?? []).map((n) => Number(n.text));

describe('Bicep syntax (tree-sitter-bicep)', () => {
    it('finds the Bicep files', () => {
        expect(files.map((f) => f.name)).toEqual(
            expect.arrayContaining(['infra/main.bicep', 'infra/app/servicebus.bicep', 'infra/app/storage.bicep', 'infra/app/monitoring.bicep', 'infra/app/api.bicep']),
        );
    });

    it.each(files.map((f) => [f.name, f] as const))('%s parses without ERROR or MISSING nodes', (_name, file) => {
        expect(syntaxProblems(file)).toEqual([]);
    });

    it('reports a broken file with file:line', () => {
        const broken = parseBicep('infra/broken.bicep', "param a string\nresource x 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: 'x'\n");
        const problems = syntaxProblems(broken);
        expect(problems.length).toBeGreaterThan(0);
        expect(problems[0]).toMatch(/^infra\/broken\.bicep:\d+:\d+ /);
    });

    it('declares only extensions that bicepconfig.json resolves', () => {
        const config = readJson('infra/bicepconfig.json') as { extensions?: Record<string, string> };
        const declared = files.flatMap((f) => f.extensions);
        expect(declared).toContain('microsoftGraphV1');
        for (const name of declared) {
            expect(config.extensions?.[name]).toMatch(/^br:mcr\.microsoft\.com\/bicep\/extensions\/microsoftgraph\/v1\.0:\d+\.\d+\.\d+$/);
        }
    });

    it('resolves every local module path and pins every registry module to a version', () => {
        for (const m of allModules) {
            if (m.target.startsWith('br/public:')) expect(m.target, `${m.file.name} ${m.symbol}`).toMatch(/^br\/public:avm\/res\/[\w/-]+:\d+\.\d+\.\d+$/);
            else expect(existsSync(path.join(repoRoot, path.dirname(m.file.name), m.target)), `${m.file.name} → ${m.target}`).toBe(true);
        }
    });
});

describe('Flex Consumption app', () => {
    const api = fileNamed('infra/app/api.bicep');
    const site = moduleNamed(api, 'site');
    const plan = moduleNamed(api, 'plan');

    it('runs on an FC1 / FlexConsumption plan', () => {
        expect(stringValue(propertyPath(plan.body, 'params.sku.name'))).toBe('FC1');
        expect(stringValue(propertyPath(plan.body, 'params.sku.tier'))).toBe('FlexConsumption');
        expect(propertyPath(plan.body, 'params.reserved')?.text).toBe('true');
    });

    it('runs Node 22 and deploys from blob storage with the user-assigned identity', () => {
        const config = propertyPath(site.body, 'params.functionAppConfig');
        expect(stringValue(propertyPath(config, 'runtime.name'))).toBe('node');
        expect(stringValue(propertyPath(config, 'runtime.version'))).toBe('22');
        expect(stringValue(propertyPath(config, 'deployment.storage.type'))).toBe('blobContainer');
        expect(stringValue(propertyPath(config, 'deployment.storage.authentication.type'))).toBe('UserAssignedIdentity');
        expect(propertyPath(config, 'deployment.storage.authentication.userAssignedIdentityResourceId')?.text).toBe('identityResourceId');
        expect(propertyPath(config, 'scaleAndConcurrency.maximumInstanceCount')?.text).toBe('maximumInstanceCount');
        expect(propertyPath(config, 'scaleAndConcurrency.instanceMemoryMB')?.text).toBe('instanceMemoryMB');
        expect(propertyPath(site.body, 'params.managedIdentities.systemAssigned')?.text).toBe('false');
    });

    it.each(['infra/main.bicep', 'infra/app/api.bicep'])('%s bounds instanceMemoryMB to exactly {512, 2048, 4096} and maximumInstanceCount to 40–1000', (name) => {
        const file = fileNamed(name);
        const memory = paramDecorators(file, 'instanceMemoryMB');
        const allowed = memory.decorators.get('allowed')?.[0]?.namedChildren;
        expect(new Set(numbersOf(allowed))).toEqual(new Set([512, 2048, 4096]));
        expect(numbersOf(allowed)).toHaveLength(3);
        expect(memory.param.namedChildren[2]?.text).toBe('2048');

        const count = paramDecorators(file, 'maximumInstanceCount');
        expect(numbersOf(count.decorators.get('minValue'))).toEqual([40]);
        expect(numbersOf(count.decorators.get('maxValue'))).toEqual([1000]);
        expect(count.param.namedChildren[2]?.text).toBe('40');
    });

    it('tags the site for azd and everything with the environment name', () => {
        expect(propertyPath(site.body, 'params.tags')?.text).toMatch(/'azd-service-name':\s*serviceName/);
        expect(stringValue(topLevel(api, 'parameter_declaration').get('serviceName')?.namedChildren[2])).toBe('api');
        expect(propertyPath(moduleNamed(main, 'api').body, 'params.serviceName')?.text).toBe("'api'");
        expect(property(topLevel(main, 'variable_declaration').get('tags')?.namedChildren[1], 'azd-env-name')?.text).toBe('environmentName');
    });

    it('names the resource group rg-<env> and derives the token from subscription, environment and location', () => {
        const abbreviations = readJson('infra/abbreviations.json') as Record<string, string>;
        expect(abbreviations.resourcesResourceGroups).toBe('rg-');
        const rg = resources(main).find((r) => r.target.startsWith('Microsoft.Resources/resourceGroups@'));
        expect(property(rg?.body, 'name')?.text).toBe("'${abbrs.resourcesResourceGroups}${environmentName}'");
        expect(topLevel(main, 'variable_declaration').get('resourceToken')?.namedChildren[1]?.text).toBe(
            'toLower(uniqueString(subscription().id, environmentName, location))',
        );
        expect(main.source).toMatch(/^targetScope = 'subscription'$/m);
    });
});

describe('identity-only access', () => {
    const serviceBus = fileNamed('infra/app/servicebus.bicep');
    const namespace = resources(serviceBus).find((r) => r.target.startsWith('Microsoft.ServiceBus/namespaces@'));
    const queue = resources(serviceBus).find((r) => r.target.startsWith('Microsoft.ServiceBus/namespaces/queues@'));

    it('turns off Service Bus SAS keys and old TLS', () => {
        expect(propertyPath(namespace?.body, 'properties.disableLocalAuth')?.text).toBe('true');
        expect(stringValue(propertyPath(namespace?.body, 'properties.minimumTlsVersion'))).toBe('1.2');
    });

    it('turns off instrumentation-key ingestion for Application Insights', () => {
        const component = allModules.find((m) => m.target.startsWith('br/public:avm/res/insights/component:'));
        expect(propertyPath(component?.body, 'params.disableLocalAuth')?.text).toBe('true');
    });

    it('turns off storage account keys and anonymous blob access', () => {
        const account = allModules.find((m) => m.target.startsWith('br/public:avm/res/storage/storage-account:'));
        expect(propertyPath(account?.body, 'params.allowSharedKeyAccess')?.text).toBe('false');
        expect(propertyPath(account?.body, 'params.allowBlobPublicAccess')?.text).toBe('false');
        expect(stringValue(propertyPath(account?.body, 'params.minimumTlsVersion'))).toBe('TLS1_2');
    });

    it('contains no key, SAS or listKeys anywhere in infra/', () => {
        for (const { name, text } of infraTexts) {
            expect(text, name).not.toMatch(/AccountKey=|SharedAccessKey=|listKeys\(/i);
        }
    });

    it('gives Application Insights an Entra authentication string for the user-assigned identity', () => {
        const monitoring = fileNamed('infra/app/monitoring.bicep');
        const settings = topLevel(monitoring, 'output_declaration').get('appSettings');
        const auth = settings?.descendantsOfType('object_property').find((p) => propertyKey(p) === 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING');
        expect(auth?.namedChildren[1]?.text).toBe("'ClientId=${identityClientId};Authorization=AAD'");
    });

    it('configures the ServiceBusConnection for the user-assigned identity (all three settings)', () => {
        const settings = topLevel(serviceBus, 'output_declaration').get('appSettings')!;
        const object = settings.namedChildren.find((c) => c.type === 'object');
        expect(property(object, settingNames.serviceBusNamespace)).toBeDefined();
        expect(stringValue(property(object, settingNames.serviceBusCredential))).toBe('managedidentity');
        expect(property(object, settingNames.serviceBusClientId)?.text).toBe('identityClientId');
        expect(property(object, settingNames.queueName)?.text).toBe('queue.name');
    });

    it('creates the queue the way the pipeline expects', () => {
        const props = property(queue?.body, 'properties');
        expect(stringValue(property(props, 'lockDuration'))).toBe('PT2M');
        expect(property(props, 'maxDeliveryCount')?.text).toBe('10');
        expect(property(props, 'requiresDuplicateDetection')?.text).toBe('true');
        expect(stringValue(property(props, 'duplicateDetectionHistoryTimeWindow'))).toBe('PT10M');
        expect(property(props, 'deadLetteringOnMessageExpiration')?.text).toBe('true');
        expect(stringValue(property(props, 'defaultMessageTimeToLive'))).toMatch(/^P\d+D$/);
    });

    it('keeps the batch budget well inside the queue lock', () => {
        const budget = paramDecorators(main, 'ingestBatchBudgetMs');
        const [max] = numbersOf(budget.decorators.get('maxValue'));
        const lockMs = 2 * 60_000; // PT2M, asserted above
        expect(max).toBeLessThanOrEqual(lockMs * 0.75);
        expect(Number(budget.param.namedChildren[2]?.text)).toBe(45_000);
        expect(objectKeys.has(settingNames.batchBudgetMs)).toBe(true);
    });

    it('forces Service Bus Premium whenever the VNet (private endpoints) is on', () => {
        const sku = topLevel(main, 'variable_declaration').get('effectiveServiceBusSku')?.namedChildren[1]?.text;
        expect(sku).toBe("vnetEnabled ? 'Premium' : serviceBusSkuName");
        expect(propertyPath(moduleNamed(main, 'serviceBus').body, 'params.skuName')?.text).toBe('effectiveServiceBusSku');
    });
});

describe('optional VNet', () => {
    it('is off by default and, when on, closes public access, delegates the app subnet and adds private endpoints', () => {
        expect(topLevel(main, 'parameter_declaration').get('vnetEnabled')?.namedChildren[2]?.text).toBe('false');
        for (const symbol of ['storage', 'serviceBus']) {
            expect(propertyPath(moduleNamed(main, symbol).body, 'params.publicNetworkAccessDisabled')?.text, symbol).toBe('vnetEnabled');
        }
        for (const symbol of ['network', 'privateEndpoints']) {
            const m = moduleNamed(main, symbol);
            expect(m.conditional && m.node.text.includes('if (vnetEnabled)'), symbol).toBe(true);
        }
        const network = fileNamed('infra/app/network.bicep');
        expect(network.source).toMatch(/delegation: 'Microsoft\.App\/environments'/);
        const endpoints = modules(fileNamed('infra/app/private-endpoints.bicep')).filter((m) => m.target.includes('/private-endpoint:'));
        const groups = endpoints.map((m) => {
            const connection = propertyPath(m.body, 'params.privateLinkServiceConnections')?.namedChildren[0];
            return stringValue(propertyPath(connection, 'properties.groupIds')?.namedChildren[0]);
        });
        expect(groups.sort()).toEqual(['blob', 'namespace']);
    });
});

describe('least-privilege role assignments', () => {
    it('finds the role assignments', () => {
        expect(roleAssignments.length).toBeGreaterThanOrEqual(4);
    });

    it.each(roleAssignments.map((r) => [`${r.file.name} ${r.symbol}`, r] as const))(
        '%s uses 2022-04-01, a guid(scope.id, principal, role) name and a principalType',
        (_label, r) => {
            expect(r.target).toBe('Microsoft.Authorization/roleAssignments@2022-04-01');
            const name = property(r.body, 'name');
            expect(name?.type).toBe('call_expression');
            expect(name?.childForFieldName('function')?.text).toBe('guid');
            const args = name?.childForFieldName('arguments')?.namedChildren ?? [];
            expect(args).toHaveLength(3);
            const scope = property(r.body, 'scope')?.text;
            expect(scope).toBeDefined();
            expect(args[0]?.text).toBe(`${scope}.id`);
            expect(args[1]?.text).toBe(propertyPath(r.body, 'properties.principalId')?.text);
            expect(propertyPath(r.body, 'properties.principalType')).toBeDefined();
            expect(roleIdOf(r), 'role id resolves to a GUID').toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        },
    );

    it('assigns the identity (a ServicePrincipal) Data Receiver and Data Sender on the queue resource only', () => {
        const serviceBusRoles = roleAssignments.filter((r) => [roles.serviceBusDataReceiver, roles.serviceBusDataSender].includes(roleIdOf(r) as never));
        for (const role of [roles.serviceBusDataReceiver, roles.serviceBusDataSender]) {
            const forIdentity = serviceBusRoles.filter(
                (r) => roleIdOf(r) === role && stringValue(propertyPath(r.body, 'properties.principalType')) === 'ServicePrincipal',
            );
            expect(forIdentity, role).toHaveLength(1);
        }
        for (const r of serviceBusRoles) {
            const scope = property(r.body, 'scope')?.text;
            const target = resources(r.file).find((d) => d.symbol === scope);
            expect(target?.target, `${r.symbol} scope`).toMatch(/^Microsoft\.ServiceBus\/namespaces\/queues@/);
        }
    });

    it('assigns Blob Data Owner on storage and Metrics Publisher on Application Insights', () => {
        const scopeType = (r: Declaration) => resources(r.file).find((d) => d.symbol === property(r.body, 'scope')?.text)?.target;
        const blob = roleAssignments.filter((r) => roleIdOf(r) === roles.storageBlobDataOwner);
        expect(blob.map(scopeType)).toEqual([expect.stringMatching(/^Microsoft\.Storage\/storageAccounts@/)]);
        const metrics = roleAssignments.filter((r) => roleIdOf(r) === roles.monitoringMetricsPublisher);
        expect(metrics.map(scopeType)).toEqual([expect.stringMatching(/^Microsoft\.Insights\/components@/)]);
    });

    it('grants storage queue/table roles only together with their endpoints', () => {
        const has = (role: string) => roleAssignments.some((r) => roleIdOf(r) === role);
        expect(has(roles.storageQueueDataContributor)).toBe(objectKeys.has('AzureWebJobsStorage__queueServiceUri'));
        expect(has(roles.storageTableDataContributor)).toBe(objectKeys.has('AzureWebJobsStorage__tableServiceUri'));
        expect(objectKeys.has('AzureWebJobsStorage__blobServiceUri')).toBe(true);
    });

    it('names no Owner or Data Owner role anywhere in infra/', () => {
        for (const { name, text } of infraTexts) {
            expect(text.toLowerCase(), name).not.toContain(roles.serviceBusDataOwner);
            expect(text.toLowerCase(), name).not.toContain(roles.owner);
        }
        expect(roleAssignments.map(roleIdOf)).not.toContain(roles.serviceBusDataOwner);
    });
});

describe('app settings are the union of module outputs', () => {
    const appSettingsUnion = topLevel(main, 'variable_declaration').get('appSettings')?.namedChildren[1];

    it('builds the settings with union() of every module that outputs appSettings, and hands them to the site', () => {
        expect(appSettingsUnion?.childForFieldName('function')?.text).toBe('union');
        const unionArgs = (appSettingsUnion?.childForFieldName('arguments')?.namedChildren ?? []).map((a) => a.text);
        const producers = modules(main).filter((m) => {
            if (m.target.startsWith('br/')) return false;
            const child = files.find((f) => f.name === path.posix.join('infra', m.target));
            return child !== undefined && topLevel(child, 'output_declaration').has('appSettings');
        });
        expect(producers.map((m) => m.symbol).sort()).toEqual(['monitoring', 'serviceBus', 'storage']);
        for (const m of producers) expect(unionArgs).toContain(`${m.symbol}.outputs.appSettings`);
        expect(propertyPath(moduleNamed(main, 'api').body, 'params.appSettings')?.text).toBe('appSettings');
        expect(propertyPath(moduleNamed(fileNamed('infra/app/api.bicep'), 'site').body, 'params.configs')?.text).toMatch(/properties:\s*appSettings/);
    });

    it('makes each module that outputs settings own a role assignment', () => {
        for (const file of files.filter((f) => topLevel(f, 'output_declaration').has('appSettings'))) {
            expect(
                resources(file).some((r) => r.target.startsWith('Microsoft.Authorization/roleAssignments@')),
                file.name,
            ).toBe(true);
        }
    });

    it.each(requiredDeployedSettings.map((s) => [s]))('emits the required setting %s', (setting) => {
        expect(objectKeys.has(setting)).toBe(true);
    });

    it('takes the Graph client id from the user-assigned identity and the Graph location from parameters', () => {
        const graph = topLevel(main, 'variable_declaration').get('graphSettings')?.namedChildren[1];
        expect(property(graph, settingNames.graphClientId)?.text).toBe('identity.outputs.clientId');
        expect(stringValue(property(graph, settingNames.graphCredential))).toBe('managedidentity');
        expect(property(graph, settingNames.graphBaseUrl)?.text).toBe('graphBaseUrl');
        expect(property(graph, settingNames.graphApiVersion)?.text).toBe('graphApiVersion');
        const params = topLevel(main, 'parameter_declaration');
        expect(stringValue(params.get('graphBaseUrl')?.namedChildren[2])).toBe('https://graph.microsoft.com');
        expect(stringValue(params.get('graphApiVersion')?.namedChildren[2])).toBe('v1.0');
    });
});

describe('Graph application permission', () => {
    const graphModule = fileNamed('infra/app/graph-app-role.bicep');

    it('assigns the app role through the Graph extension, behind grantGraphAppRole', () => {
        expect(graphModule.extensions).toEqual(['microsoftGraphV1']);
        const sp = resources(graphModule).find((r) => r.target === 'Microsoft.Graph/servicePrincipals@v1.0');
        expect(sp?.existing).toBe(true);
        expect(stringValue(property(sp?.body, 'appId'))).toBe('00000003-0000-0000-c000-000000000000');
        const assignment = resources(graphModule).find((r) => r.target === 'Microsoft.Graph/appRoleAssignedTo@v1.0');
        expect(property(assignment?.body, 'resourceId')?.text).toBe(`${sp?.symbol}.id`);
        expect(property(assignment?.body, 'principalId')?.text).toBe('principalId');
        const caller = modules(main).find((m) => m.target === 'app/graph-app-role.bicep');
        expect(caller?.conditional).toBe(true);
        expect(caller?.node.text).toMatch(/if \(grantGraphAppRole\)/);
        expect(stringValue(topLevel(main, 'parameter_declaration').get('graphAppRoleValue')?.namedChildren[2])).toBe('ManagedTenants.ReadWrite.All');
        expect(topLevel(main, 'parameter_declaration').get('grantGraphAppRole')?.namedChildren[2]?.text).toBe('false');
    });

    it('looks the role up by value among application roles', () => {
        const lookup = topLevel(graphModule, 'variable_declaration').get('matchingRoles')?.text ?? '';
        expect(lookup).toMatch(/filter\(\s*graph\.appRoles/);
        expect(lookup).toContain('role.value == appRoleValue');
        expect(lookup).toContain("contains(role.allowedMemberTypes, 'Application')");
    });
});

describe('azd files', () => {
    it('azure.yaml deploys the project as a TypeScript Function and runs the Graph fallback after provisioning', () => {
        const azure = YAML.parse(readFileSync(path.join(repoRoot, 'azure.yaml'), 'utf8')) as {
            services: Record<string, { project: string; language: string; host: string }>;
            hooks?: { postprovision?: { posix?: { run?: string; continueOnError?: boolean } } };
        };
        expect(azure.services.api).toMatchObject({ project: '.', language: 'ts', host: 'function' });
        const run = azure.hooks?.postprovision?.posix?.run;
        expect(run).toBe('./infra/scripts/grant-graph-app-role.sh');
        expect(() => accessSync(path.join(repoRoot, run!), constants.X_OK)).not.toThrow();
    });

    it('main.parameters.json sets only parameters main.bicep declares, and every required one', () => {
        const parameters = (readJson('infra/main.parameters.json') as { parameters: Record<string, { value: unknown }> }).parameters;
        const declared = topLevel(main, 'parameter_declaration');
        for (const name of Object.keys(parameters)) expect(declared.has(name), name).toBe(true);
        for (const [name, node] of declared) {
            const hasDefault = node.namedChildren.length > 2;
            if (!hasDefault) expect(parameters[name], `${name} has no default`).toBeDefined();
        }
        expect(parameters.environmentName?.value).toBe('${AZURE_ENV_NAME}');
        expect(parameters.location?.value).toBe('${AZURE_LOCATION}');
        expect(parameters.principalId?.value).toBe('${AZURE_PRINCIPAL_ID}');
    });

    it('abbreviations.json has every abbreviation main.bicep uses', () => {
        const abbreviations = readJson('infra/abbreviations.json') as Record<string, string>;
        const used = [...main.source.matchAll(/abbrs\.(\w+)/g)].map((m) => m[1]!);
        expect(used.length).toBeGreaterThan(5);
        for (const key of used) expect(abbreviations[key], key).toEqual(expect.any(String));
    });

    it('outputs what azd puts in the environment', () => {
        const outputs = topLevel(main, 'output_declaration');
        for (const name of ['SERVICEBUS_NAMESPACE_FQDN', 'COMPLIANCE_QUEUE_NAME', 'AZURE_FUNCTION_NAME', 'API_IDENTITY_CLIENT_ID', 'API_IDENTITY_PRINCIPAL_ID']) {
            expect(outputs.has(name), name).toBe(true);
        }
    });
});
