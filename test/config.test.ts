import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, WORKER_DEFAULTS } from '../src/config.js';

describe('the configuration', () => {
  it('sizes the worker from WORKER_* variables, with the documented defaults', () => {
    expect(loadConfig({}).worker).toEqual(WORKER_DEFAULTS);
    const tuned = loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '250', WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES: '8', WORKER_DATABASE_POOL_SIZE: '8' });
    expect(tuned.worker).toMatchObject({ maxCachedWorkflows: 250, maxConcurrentLocalActivities: 8, databasePoolSize: 8, stickyTimeoutMs: WORKER_DEFAULTS.stickyTimeoutMs });
  });

  it('refuses a bad variable with one line naming it', () => {
    expect(() => loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: 'lots', WORKER_STICKY_TIMEOUT_MS: '5' })).toThrow(ConfigError);
    try {
      loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: 'lots', WORKER_STICKY_TIMEOUT_MS: '5' });
    } catch (error) {
      const lines = (error as Error).message.split('\n').slice(1);
      expect(lines).toHaveLength(2);
      expect(lines[0]).toContain('WORKER_MAX_CACHED_WORKFLOWS');
      expect(lines[1]).toContain('WORKER_STICKY_TIMEOUT_MS');
    }
  });
});
