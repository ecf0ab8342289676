import type { GraphConfig } from './config';
import { createBatchEntityWriter } from './graph/batch-writer';
import { createGraphClient } from './graph/client';
import { GraphTokenSource } from './graph/token';
import { createEntityWriter, type EntityWriter } from './graph/writer';
import type { Logger } from './log';

/**
 * The composition both hosts share: token source → Graph client → idempotent writer, sending `$batch` requests
 * unless GRAPH_BATCHING=off asks for one request per write.
 */
export function createWriter(graph: GraphConfig, logger: Logger): EntityWriter {
    if (graph.insecureLoopback) {
        logger.log('warn', 'graph.insecure_loopback', { baseUrl: graph.baseUrl, note: 'plain http to a loopback Graph stand-in; never use this against a real service' });
    }
    const client = createGraphClient({ config: graph, tokens: GraphTokenSource.fromConfig(graph), logger });
    const deps = { client, logger, maxConcurrency: graph.maxConcurrency, retryBudgetMs: graph.retryBudgetMs };
    return graph.batching !== false ? createBatchEntityWriter(deps) : createEntityWriter(deps);
}
