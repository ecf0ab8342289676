/**
 * Stands in for the virtual `@azure/functions-core` module that the Functions Node worker injects,
 * so registrations can be captured and invoked without the host (see shared notes §3.3).
 * Installed for every test file, before anything imports `@azure/functions`.
 */
import Module from 'node:module';

export interface CapturedRegistration {
    metadata: { name: string; bindings: Record<string, Record<string, unknown>> } & Record<string, unknown>;
    callback: (...args: unknown[]) => unknown;
}

const state = globalThis as unknown as { __functionsCore?: { registrations: CapturedRegistration[]; programmingModel?: unknown } };
state.__functionsCore ??= { registrations: [] };

export const registrations = state.__functionsCore.registrations;

const stub = {
    version: 'test',
    hostVersion: 'test',
    registerFunction(metadata: CapturedRegistration['metadata'], callback: CapturedRegistration['callback']) {
        registrations.push({ metadata, callback });
        return { dispose() {} };
    },
    setProgrammingModel(model: unknown) {
        state.__functionsCore!.programmingModel = model;
    },
    getProgrammingModel() {
        return state.__functionsCore!.programmingModel;
    },
    registerHook() {
        return { dispose() {} };
    },
    log() {},
};

type RequireFn = (this: unknown, id: string) => unknown;
const proto = Module.prototype as unknown as { require: RequireFn & { __stubbed?: boolean } };
if (!proto.require.__stubbed) {
    const original = proto.require;
    const proxied = new Proxy(original, {
        apply(target, thisArg, args: [string]) {
            if (args[0] === '@azure/functions-core') return stub;
            return Reflect.apply(target, thisArg, args);
        },
    });
    proxied.__stubbed = true;
    proto.require = proxied;
}
