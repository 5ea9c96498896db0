/**
 * The deployment artefacts, checked without a cluster or a Docker engine (neither is available
 * where the suite runs):
 * - deploy/k8s/: every manifest validates against the Kubernetes OpenAPI schemas
 *   (kubernetes-models; types, required fields, enums, formats), and the manifests agree with
 *   each other and with the gateway: the ConfigMap holds a config the gateway's own loader
 *   accepts, probes hit /readyz and /healthz on the port the config binds, the grace period
 *   covers preStop + drainMs, selectors match, every Secret key referenced exists.
 * - Dockerfile: multi-stage (a build stage compiles dist/, the runtime has `npm ci --omit=dev`),
 *   non-root, HEALTHCHECK on /healthz, and the production dependencies really are all the compiled
 *   code imports (tsx only as the optional development loader).
 */
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { parseConfig } from '../../src/config/load.js';
import type { GatewayConfig } from '../../src/config/schema.js';
import { ROOT, runCli } from '../helpers/cli.js';

const K8S = join(ROOT, 'deploy', 'k8s');
type Manifest = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [k: string]: any };

const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
};

function loadManifests(): Manifest[] {
  const kustomization = parseYaml(readFileSync(join(K8S, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  return kustomization.resources.flatMap((file) =>
    parseAllDocuments(readFileSync(join(K8S, file), 'utf8')).map((doc) => {
      expect(doc.errors, file).toEqual([]);
      return doc.toJS() as Manifest;
    }),
  );
}

const manifests = loadManifests();
const one = (kind: string) => {
  const found = manifests.filter((m) => m.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0]!;
};

/** The environment the Deployment gives the container (Secret references resolved). */
function deploymentEnv(): NodeJS.ProcessEnv {
  const secret = one('Secret');
  const container = one('Deployment').spec.template.spec.containers[0];
  const env: NodeJS.ProcessEnv = {};
  for (const e of container.env ?? []) {
    env[e.name] = e.value ?? (e.valueFrom?.secretKeyRef ? secret.stringData[e.valueFrom.secretKeyRef.key] : undefined);
  }
  return env;
}

const configMapText = () => one('ConfigMap').data['gateway.yaml'] as string;

/** The ConfigMap's config exactly as shipped, through the gateway's loader, with the Deployment's environment. */
function gatewayConfig(): GatewayConfig {
  return parseConfig(configMapText(), deploymentEnv());
}

/** Writes a config to a private file, for the CLI. */
function configFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-deploy-'));
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, text);
  return file;
}

describe('deploy/k8s manifests', () => {
  it("carry a config that passes `config check` and composes with the shipped schema, exactly as shipped", async () => {
    const file = configFile(configMapText());
    const env = deploymentEnv();
    const check = await runCli(['config', 'check', '--config', file], { env });
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    const print = await runCli(['schema', 'print', '--config', file], { env });
    expect(print.stderr).toBe('');
    expect(print.code).toBe(0);
    // The check is live: a ConfigMap naming an upstream the schema does not have (catalog renamed) fails.
    const renamed = configFile(configMapText().replace(/^(\s+)catalog:/m, '$1products:'));
    expect(readFileSync(renamed, 'utf8')).toMatch(/^\s+products:/m);
    const bad = await runCli(['schema', 'print', '--config', renamed], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/"catalog", which is not configured/);
  });

  it('validate against the Kubernetes schemas', () => {
    expect(manifests.map((m) => m.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Secret', 'Service']);
    for (const m of manifests) {
      const Model = MODELS[`${m.apiVersion}/${m.kind}`];
      expect(Model, `${m.apiVersion} ${m.kind}`).toBeDefined();
      expect(() => new Model!(m).validate(), `${m.kind}/${m.metadata.name}`).not.toThrow();
    }
    // The validator is live: a wrong type in the Deployment is caught.
    const broken = structuredClone(one('Deployment'));
    broken.spec.template.spec.containers[0].ports[0].containerPort = 'four thousand';
    expect(() => new Deployment(broken).validate()).toThrow(/containerPort/);
  });

  it('run three replicas with probes on /readyz and /healthz at the port the gateway binds', () => {
    const config = gatewayConfig();
    const dep = one('Deployment');
    expect(dep.spec.replicas).toBe(3);
    const pod = dep.spec.template.spec;
    const c = pod.containers[0];
    const http = c.ports.find((p: any) => p.name === 'http');
    expect(http.containerPort).toBe(config.server.port);
    expect(config.server.host).toBe('0.0.0.0');
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.args).toEqual(['start', '--config', '/etc/gateway/gateway.yaml']);
    const mount = c.volumeMounts.find((v: any) => v.mountPath === '/etc/gateway');
    const volume = pod.volumes.find((v: any) => v.name === mount.name);
    expect(volume.configMap.name).toBe(one('ConfigMap').metadata.name);
    expect(c.resources.requests.cpu).toBeDefined();
    expect(c.resources.limits.memory).toBeDefined();
    expect(pod.securityContext.runAsNonRoot).toBe(true);
  });

  it('give a pod time to drain: grace period > preStop sleep + server.drainMs', () => {
    const config = gatewayConfig();
    const pod = one('Deployment').spec.template.spec;
    const cmd = pod.containers[0].lifecycle.preStop.exec.command as string[];
    expect(cmd[0]).toBe('sleep');
    const preStopSec = Number(cmd[1]);
    expect(preStopSec).toBeGreaterThan(0);
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(preStopSec * 1000 + config.server.drainMs);
  });

  it('wire Service, PodDisruptionBudget, HPA, Secret and Redis to the Deployment', () => {
    const config = gatewayConfig();
    const dep = one('Deployment');
    const podLabels = dep.spec.template.metadata.labels;
    const matches = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => podLabels[k] === v);
    expect(matches(dep.spec.selector.matchLabels)).toBe(true);

    const svc = one('Service');
    expect(matches(svc.spec.selector)).toBe(true);
    expect(svc.spec.ports[0].targetPort).toBe('http');

    const pdb = one('PodDisruptionBudget');
    expect(matches(pdb.spec.selector.matchLabels)).toBe(true);
    expect(pdb.spec.minAvailable).toBeLessThan(dep.spec.replicas);

    const hpa = one('HorizontalPodAutoscaler');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: dep.metadata.name });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(dep.spec.replicas);
    expect(hpa.spec.minReplicas).toBeGreaterThan(pdb.spec.minAvailable);

    const secret = one('Secret');
    const refs = dep.spec.template.spec.containers[0].env.filter((e: any) => e.valueFrom?.secretKeyRef).map((e: any) => e.valueFrom.secretKeyRef);
    expect(refs.map((r: any) => r.name)).toEqual(refs.map(() => secret.metadata.name));
    for (const r of refs) expect(Object.keys(secret.stringData)).toContain(r.key);
    // Replicas share their limits through the Redis the Secret names.
    expect(config.redis?.url).toBe(secret.stringData['redis-url']);
  });
});

/** Instructions of the stage named `name` (or the last stage). */
function dockerStages(text: string): Array<{ name: string; lines: string[] }> {
  const joined = text.replace(/\\\n\s*/g, ' ');
  const stages: Array<{ name: string; lines: string[] }> = [];
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) stages.push({ name: from[1] ?? String(stages.length), lines: [] });
    stages.at(-1)?.lines.push(line);
  }
  return stages;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return f === 'node_modules' ? [] : sourceFiles(p);
    return /\.(ts|js)$/.test(f) ? [p] : [];
  });
}

describe('Dockerfile', () => {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const stages = dockerStages(text);
  const runtime = stages.at(-1)!;

  it('is multi-stage, installs production dependencies only, and runs as a non-root user', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const installs = stages.flatMap((s) => s.lines).filter((l) => /^RUN .*npm ci/.test(l));
    // The build stage compiles with every dependency; the runtime's node_modules has production ones only.
    expect(installs.some((l) => /npm ci .*&& npm run build/.test(l))).toBe(true);
    const prodStage = stages.find((s) => s.lines.some((l) => /npm ci --omit=dev/.test(l)));
    expect(prodStage).toBeDefined();
    expect(runtime.lines.some((l) => new RegExp(`^COPY --from=${prodStage!.name} /app/node_modules`).test(l))).toBe(true);
    expect(runtime.lines.some((l) => /^COPY --from=\S+ \/app\/dist \.\/dist/.test(l))).toBe(true);
    const user = runtime.lines.filter((l) => l.startsWith('USER ')).at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/USER\s+(root|0)\b/);
    expect(runtime.lines).toContain('ENTRYPOINT ["node", "bin/gateway.js"]');
  });

  it('checks health on /healthz', () => {
    const hc = runtime.lines.find((l) => l.startsWith('HEALTHCHECK'));
    expect(hc).toMatch(/\/healthz/);
    expect(hc).toMatch(/--interval=\d+s/);
  });

  it('copies every source folder the gateway loads, and .dockerignore keeps none of them out', () => {
    const copied = runtime.lines.filter((l) => l.startsWith('COPY ') && !l.includes('--from')).flatMap((l) => l.split(/\s+/).slice(1, -1));
    // Compiled code comes from the build stage; SDL, protos and the config are read at run time.
    for (const dir of ['bin', 'schema', 'upstreams', 'package.json', 'package-lock.json', 'gateway.yaml']) expect(copied).toContain(dir);
    const built = stages[0]!.lines.filter((l) => l.startsWith('COPY ')).flatMap((l) => l.split(/\s+/).slice(1, -1));
    for (const dir of ['bin', 'src', 'resolvers', 'upstreams', 'tsconfig.json', 'tsconfig.build.json']) expect(built).toContain(dir);
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const src of copied) expect(ignored).not.toContain(src);
    expect(ignored).toContain('node_modules');
  });

  it('needs no dev dependency at run time: every package the sources import is a production dependency', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const deps = new Set(Object.keys(pkg.dependencies));
    // The compiled build needs no TypeScript loader: tsx is a development dependency, imported only
    // behind a fallback (bin/gateway.js, src/load-module.ts) for sources newer than the build.
    expect(deps.has('tsx')).toBe(false);
    const optional = new Set(['tsx']);
    const missing = new Set<string>();
    const files = ['src', 'resolvers', 'upstreams'].flatMap((d) => sourceFiles(join(ROOT, d))).concat(['gateway.js', 'freshness.js'].map((f) => join(ROOT, 'bin', f)));
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const code = readFileSync(file, 'utf8');
      for (const m of code.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm)) {
        const spec = m[1] ?? m[2]!;
        if (spec.startsWith('.') || spec.startsWith('node:')) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!deps.has(name) && !optional.has(name)) missing.add(`${name} (${file.slice(ROOT.length)})`);
      }
    }
    expect([...missing]).toEqual([]);
  });
});
