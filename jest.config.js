// Two projects: fast unit tests beside the code, and end-to-end tests in test/ that boot the
// real app against real PostgreSQL and Redis (a database of their own, created per run).
const moduleNameMapper = {
  '^@app/(core|platform|referrals|waitlists|mediation|ttp)(|/.*)$': '<rootDir>/libs/$1/src$2',
  '^@app/migrations/(.*)$': '<rootDir>/migrations/$1',
};
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }] };

module.exports = {
  // End-to-end tests boot apps and wait for workers; unit tests finish far below this.
  testTimeout: 60000,
  projects: [
    {
      displayName: 'unit',
      rootDir: __dirname,
      testEnvironment: 'node',
      moduleFileExtensions: ['ts', 'js', 'json'],
      testMatch: ['<rootDir>/libs/**/*.spec.ts', '<rootDir>/apps/**/*.spec.ts'],
      transform,
      moduleNameMapper,
    },
    {
      displayName: 'e2e',
      rootDir: __dirname,
      testEnvironment: 'node',
      moduleFileExtensions: ['ts', 'js', 'json'],
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      transform,
      moduleNameMapper,
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
    {
      // The fault suite (docs/RELIABILITY.md): the built API and worker as child processes against
      // a Postgres cluster and Redis server of its own, which it kills, restarts and flushes.
      displayName: 'faults',
      rootDir: __dirname,
      testEnvironment: 'node',
      moduleFileExtensions: ['ts', 'js', 'json'],
      testMatch: ['<rootDir>/test/faults/**/*.fault-spec.ts'],
      transform,
      moduleNameMapper,
      globalSetup: '<rootDir>/test/faults/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/faults/support/global-teardown.ts',
    },
  ],
};
