import type { GraphConfig } from './config';
import { createGraphClient } from './graph/client';
import { GraphTokenSource } from './graph/token';
import { createEntityWriter, type EntityWriter } from './graph/writer';
import type { Logger } from './log';

/** The composition both hosts share: token source → Graph client → idempotent writer. */
export function createWriter(graph: GraphConfig, logger: Logger): EntityWriter {
    const client = createGraphClient({ config: graph, tokens: GraphTokenSource.fromConfig(graph), logger });
    return createEntityWriter({ client, logger, maxConcurrency: graph.maxConcurrency, retryBudgetMs: graph.retryBudgetMs });
}
