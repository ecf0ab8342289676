import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';

import type { GraphConfig } from '../config';
import { ensureError, IngestError, redact } from '../errors';

/** No Graph token could be obtained: the identity is missing, misconfigured or its endpoint is down. */
export class TokenUnavailableError extends IngestError {
    readonly code = 'TokenUnavailable';
    // The text quotes the identity library, which may echo endpoint details: treat it as external.
    override readonly isSystemError = false;
    constructor(scope: string, cause: unknown) {
        super(`Could not get a token for '${scope}': ${redact(ensureError(cause).message)}`, { cause });
        this.name = 'TokenUnavailableError';
    }
}

/**
 * The credential for Graph calls. Production uses `ManagedIdentityCredential` explicitly: DefaultAzureCredential
 * falls through to developer credentials when the identity endpoint misbehaves (shared notes §8.7).
 */
export function createGraphCredential(config: GraphConfig): TokenCredential {
    if (config.credential === 'default') {
        return new DefaultAzureCredential(config.clientId ? { managedIdentityClientId: config.clientId } : {});
    }
    return config.clientId ? new ManagedIdentityCredential({ clientId: config.clientId }) : new ManagedIdentityCredential();
}

/** Supplies the bearer token for each Graph request. */
export interface BearerTokenSource {
    /** Resolves to the raw access token; rejects only with `TokenUnavailableError`. */
    getToken(signal?: AbortSignal): Promise<string>;
}

/**
 * Asks the credential for a token for exactly one scope (the managed identity rejects more).
 * MSAL already caches tokens process-wide and refreshes them early, so there is no cache here. It does not
 * coalesce concurrent misses, though (8 parallel first calls sent 8 identity requests), so callers arriving
 * while a request is under way share it.
 */
export class GraphTokenSource implements BearerTokenSource {
    private pending: Promise<string> | undefined;

    constructor(
        private readonly credential: TokenCredential,
        private readonly scope: string,
    ) {}

    static fromConfig(config: GraphConfig): GraphTokenSource {
        return new GraphTokenSource(createGraphCredential(config), config.scope);
    }

    getToken(signal?: AbortSignal): Promise<string> {
        if (!this.pending) {
            const request = this.acquire();
            const forget = () => {
                if (this.pending === request) this.pending = undefined;
            };
            request.then(forget, forget);
            this.pending = request;
        }
        // One caller giving up must not fail the others sharing the request, so each waits on its own signal.
        return signal ? abortable(this.pending, signal, this.scope) : this.pending;
    }

    private async acquire(): Promise<string> {
        let token: string | undefined;
        try {
            token = (await this.credential.getToken(this.scope))?.token;
        } catch (err) {
            throw new TokenUnavailableError(this.scope, err);
        }
        if (!token) throw new TokenUnavailableError(this.scope, 'the credential returned no token');
        return token;
    }
}

function abortable(request: Promise<string>, signal: AbortSignal, scope: string): Promise<string> {
    if (signal.aborted) return Promise.reject(new TokenUnavailableError(scope, 'the request was aborted'));
    return new Promise((resolve, reject) => {
        const onAbort = () => reject(new TokenUnavailableError(scope, 'the request was aborted'));
        signal.addEventListener('abort', onAbort, { once: true });
        request.then(
            (token) => {
                signal.removeEventListener('abort', onAbort);
                resolve(token);
            },
            (err: unknown) => {
                signal.removeEventListener('abort', onAbort);
                reject(ensureError(err));
            },
        );
    });
}
