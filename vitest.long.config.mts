import { defineConfig } from 'vitest/config';

// Long suites (load, soak, 10,000-message fault storms): `npm run test:long`. Their files end in `.long.ts`, so the
// default config (`test/**/*.test.ts`) never picks them up.
export default defineConfig({
    test: {
        include: ['test/long/**/*.long.ts'],
        setupFiles: ['test/setup/functions-core-stub.ts'],
        globalSetup: ['test/setup/build.ts'],
        testTimeout: 3 * 60 * 60_000,
        hookTimeout: 120_000,
        pool: 'forks',
        // One suite at a time: each measures throughput and memory on a 2-core machine.
        fileParallelism: false,
    },
});
