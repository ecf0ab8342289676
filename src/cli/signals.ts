/**
 * First SIGINT/SIGTERM: abort gracefully (stop receiving, settle what is held, close connections).
 * Second: exit at once. Returns the signal and a disposer.
 */
export function shutdownSignal(onFirst?: (signal: NodeJS.Signals) => void): { signal: AbortSignal; dispose: () => void } {
    const controller = new AbortController();
    const handler = (sig: NodeJS.Signals) => {
        if (controller.signal.aborted) process.exit(130);
        onFirst?.(sig);
        controller.abort();
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
    return {
        signal: controller.signal,
        dispose: () => {
            process.off('SIGINT', handler);
            process.off('SIGTERM', handler);
        },
    };
}
