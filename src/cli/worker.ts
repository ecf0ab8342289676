import type { Environment } from '../config';
import { loadWorkerConfig } from '../config';
import { createWriter } from '../compose';
import { createStatusReporter } from '../hosts/worker/status';
import { defaultWorkerOptions, runWorker, type WorkerTotals } from '../hosts/worker/worker';
import type { Logger } from '../log';
import { CircuitBreaker, defaultCircuitOptions } from '../recoverability/circuit-breaker';
import { createServiceBusClient } from '../servicebus';

export interface WorkerCommandOptions {
    readonly batchSize?: number;
    readonly loops?: number;
    readonly drain?: boolean;
    readonly idleMs?: number;
}

/** Run the worker with the given settings until `signal` aborts or, with `drain`, the queue is idle. */
export async function runWorkerCommand(
    env: Environment,
    options: WorkerCommandOptions,
    logger: Logger,
    signal: AbortSignal,
    onProgress?: (totals: WorkerTotals) => void,
): Promise<WorkerTotals> {
    const config = loadWorkerConfig(env);
    const client = createServiceBusClient(config.serviceBus);
    const status = createStatusReporter(process.stderr, logger);
    const circuit = new CircuitBreaker(logger, { ...defaultCircuitOptions, coolDownMs: config.circuitCoolDownMs });
    const sender = client.createSender(config.queueName);
    try {
        const totals = await runWorker(
            {
                queueName: config.queueName,
                batchSize: options.batchSize ?? defaultWorkerOptions.batchSize,
                loops: options.loops ?? defaultWorkerOptions.loops,
                receiveWaitMs: defaultWorkerOptions.receiveWaitMs,
                batchBudgetMs: config.batchBudgetMs,
                ...(options.drain ? { drainIdleMs: options.idleMs ?? 5_000 } : {}),
            },
            {
                client,
                writer: circuit.wrap(createWriter(config.graph, logger)),
                logger,
                rescheduler: sender,
                retryPolicy: config.retry,
                circuit,
                onProgress: (t) => {
                    status.update(t);
                    onProgress?.(t);
                },
            },
            signal,
        );
        status.done(totals);
        return totals;
    } finally {
        await sender.close();
        await client.close();
    }
}
