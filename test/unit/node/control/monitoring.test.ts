import '../../../../node/polyfill.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { connectControl } from '../../../../node/control/client.js';
import { createMetrics } from '../../../../node/control/metrics.js';
import { controlServer } from '../../../../node/control/server.js';
import { TOKEN_FILE } from '../../../../node/control/token.js';
import type { ControlLogger, ControlSource } from '../../../../node/control/types.js';
import { registerStallGauge } from '../../../../node/stall.js';

const KIT = fileURLToPath(new URL('../../../../node/control/monitoring/', import.meta.url));
const quiet: ControlLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const source = {} as ControlSource; // /metrics never asks the source

interface Dashboard { panels: Array<{ title: string; targets: Array<{ expr: string }> }> }

/** Metric names a PromQL expression reads; histogram series map to their histogram. */
function metricsOf(expr: string): string[] {
  return [...expr.matchAll(/\bmurmur_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''));
}

describe('monitoring kit', () => {
  it('every metric the Grafana dashboard uses is exported by a running daemon’s /metrics', async () => {
    const dashboard = JSON.parse(await readFile(join(KIT, 'grafana-dashboard.json'), 'utf8')) as Dashboard;
    const used = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricsOf(t.expr))));
    assert.ok(used.size >= 10, `the dashboard reads only ${used.size} metrics`);

    const dir = await mkdtemp(join(tmpdir(), 'murmur-monitoring-'));
    // The metrics as the daemon assembles them: the registry plus the stall detector's gauge.
    const metrics = createMetrics({ rejectReasons: ['bad-layout'] });
    registerStallGauge(metrics.registry, () => 0);
    const server = controlServer({ dataDir: dir })({ source, metrics, logger: quiet });
    try {
      await server.start();
      const text = await (await connectControl(dir)).getText('/metrics');
      const exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
      const missing = [...used].filter((name) => !exported.has(name));
      assert.deepEqual(missing, [], `the dashboard reads metrics /metrics does not export: ${missing.join(', ')}`);
    } finally {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the Prometheus example scrapes /metrics with the daemon’s token file', async () => {
    const config = parseYaml(await readFile(join(KIT, 'prometheus.yml'), 'utf8')) as {
      scrape_configs: Array<{ metrics_path: string; authorization: { type: string; credentials_file: string }; static_configs: Array<{ targets: string[] }> }>;
    };
    assert.ok(config.scrape_configs.length > 0);
    for (const job of config.scrape_configs) {
      assert.equal(job.metrics_path, '/metrics');
      assert.equal(job.authorization.type, 'Bearer');
      assert.ok(job.authorization.credentials_file.endsWith(`/${TOKEN_FILE}`));
      for (const t of job.static_configs.flatMap((s) => s.targets)) assert.match(t, /^127\.0\.0\.1:\d+$/);
    }
  });
});
