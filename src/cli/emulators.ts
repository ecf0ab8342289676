import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { defaultPorts, startLocalStandIns, type LocalStandIns } from '../emulators/local';
import { loadEmulatorConfig } from '../emulators/servicebus';
import type { Logger } from '../log';

export interface EmulatorsCommandOptions {
    readonly config?: string;
    readonly servicebusPort?: number;
    readonly graphPort?: number;
    readonly identityPort?: number;
    readonly writeLocalSettings?: boolean;
    readonly azurite?: boolean;
}

/** What a client needs, as one JSON object (the first stdout line of `compliance-ingest emulators`). */
export function describeStandIns(s: LocalStandIns): string {
    return JSON.stringify({
        serviceBus: { connectionString: s.serviceBus.connectionString, queues: s.queueNames },
        graph: { baseUrl: s.graph.baseUrl },
        identity: { endpoint: s.identity.endpoint, header: s.identity.header },
    });
}

/** `local.settings.json` for `func start` against the stand-ins (and Azurite for AzureWebJobsStorage). */
export function localSettingsFor(s: LocalStandIns): string {
    return `${JSON.stringify({ IsEncrypted: false, Values: { FUNCTIONS_WORKER_RUNTIME: 'node', AzureWebJobsStorage: 'UseDevelopmentStorage=true', ...s.settings } }, null, 2)}\n`;
}

export async function runEmulatorsCommand(options: EmulatorsCommandOptions, logger: Logger, signal: AbortSignal, cwd = process.cwd()): Promise<void> {
    const standIns = await startLocalStandIns({
        ports: {
            serviceBus: options.servicebusPort ?? defaultPorts.serviceBus,
            graph: options.graphPort ?? defaultPorts.graph,
            identity: options.identityPort ?? defaultPorts.identity,
        },
        ...(options.config ? { config: loadEmulatorConfig(options.config) } : {}),
        logger,
    });
    process.stdout.write(`${describeStandIns(standIns)}\n`);
    let azurite: ChildProcess | undefined;
    if (options.azurite) {
        // Azurite is large and only `func start` needs it, so it is fetched on demand rather than bundled.
        azurite = spawn('npx', ['--yes', 'azurite', '--silent', '--skipApiVersionCheck', '--location', join(cwd, '.azurite')], { stdio: 'inherit' });
    }
    if (options.writeLocalSettings) writeFileSync(join(cwd, 'local.settings.json'), localSettingsFor(standIns));
    process.stdout.write(
        [
            '',
            'Local stand-ins are running (Ctrl-C stops them):',
            `  Service Bus emulator  ${standIns.serviceBus.connectionString}`,
            `                        queues: ${standIns.queueNames.join(', ')}`,
            `  Graph stand-in        ${standIns.graph.baseUrl}/v1.0 (and /beta)`,
            `  Managed identity      ${standIns.identity.endpoint}  (X-IDENTITY-HEADER: ${standIns.identity.header})`,
            azurite ? '  Azurite               UseDevelopmentStorage=true' : '',
            options.writeLocalSettings ? `  wrote ${join(cwd, 'local.settings.json')} for func start` : '',
            '',
        ]
            .filter((l, i, all) => l !== '' || i === 0 || i === all.length - 1)
            .join('\n') + '\n',
    );
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    azurite?.kill('SIGINT');
    await standIns.close();
}
