import { defineConfig } from 'vitest/config';

export default defineConfig({
    test: {
        include: ['test/**/*.test.ts'],
        setupFiles: ['test/setup/functions-core-stub.ts'],
        globalSetup: ['test/setup/build.ts'],
        testTimeout: 30_000,
        hookTimeout: 30_000,
        pool: 'forks',
        coverage: {
            provider: 'v8',
            include: ['src/**/*.ts', 'functions/**/*.ts'],
            thresholds: { lines: 80, functions: 80, branches: 70, statements: 80 },
        },
    },
});
