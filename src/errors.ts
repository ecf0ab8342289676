/**
 * Error classes. Like azure-functions-nodejs-library, we separate errors whose text is ours and safe to
 * log anywhere (`SystemError`) from text that may carry user data or secrets, which must pass `redact`.
 */

export abstract class IngestError extends Error {
    abstract readonly code: string;
    /** True when the message text was written by us and carries no user data or secrets. */
    readonly isSystemError: boolean = true;
}

/** One or more settings are missing or invalid; `issues` lists every one of them. */
export class ConfigurationError extends IngestError {
    readonly code = 'ConfigurationError';
    constructor(readonly issues: readonly string[]) {
        super(`Invalid configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${issues.map((i) => `  - ${i}`).join('\n')}`);
        this.name = 'ConfigurationError';
    }
}

/** Settling a message with the broker or the Functions host failed. */
export class SettlementError extends IngestError {
    readonly code = 'SettlementError';
    constructor(action: string, cause: unknown) {
        const e = ensureError(cause);
        // Some SDK errors carry only a name or code; an empty reason helps nobody.
        const reason = e.message || (e as Error & { code?: string }).code || e.name;
        super(`Settlement '${action}' failed: ${redact(reason)}`, { cause });
        this.name = 'SettlementError';
    }
}

/** Normalise anything thrown into an Error (null, strings, objects). */
export function ensureError(err: unknown): Error {
    if (err instanceof Error) return err;
    if (err === null || err === undefined) return new Error('Unknown error');
    if (typeof err === 'string') return new Error(err);
    try {
        return new Error(JSON.stringify(err));
    } catch {
        return new Error(Object.prototype.toString.call(err));
    }
}

const secretPatterns: readonly [RegExp, string][] = [
    [/(bearer\s+)[A-Za-z0-9\-._~+/]+=*/gi, '$1[redacted]'],
    [/(SharedAccessKey\s*=\s*)[^;"'\s]+/gi, '$1[redacted]'],
    [/(SharedAccessSignature\s+)[^"'\s]+/gi, '$1[redacted]'],
    [/(AccountKey\s*=\s*)[^;"'\s]+/gi, '$1[redacted]'],
    [/(sig=)[^&;"'\s]+/gi, '$1[redacted]'],
    [/(["']?(?:access_token|authorization|x-identity-header)["']?\s*[:=]\s*["']?)[^"',\s}]+/gi, '$1[redacted]'],
    [/eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, '[redacted-jwt]'],
];

/** Remove anything that looks like a token, key or signature from text before it is logged or stored. */
export function redact(text: string): string {
    let out = text;
    for (const [pattern, replacement] of secretPatterns) out = out.replace(pattern, replacement);
    return out;
}
