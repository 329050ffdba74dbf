// helm/tikti (docs/spec/operations.md §9): values schema, rendering, render-time refusals, and the
// rendered tikti.yaml accepted by the real server's --check. Everything is rendered and refused by
// the real helm 3 (test/deploy/helm-binary.ts); no chart test is skipped.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
// @ts-expect-error plain ESM helper without types
import { runtimeBinary } from "../../scripts/rt.mjs";
import { configLeaves, configObjectSchema } from "../../src/config/schema.ts";
import { generateRsaPem, randomSecret } from "../support/keys.ts";
import {
  at,
  byKind,
  chartDir,
  chartMeta,
  chartValues,
  helmRefusal,
  oneOfKind,
  type Rendered,
  renderChart,
  repoRoot,
  templateFiles,
  valuesSchema,
} from "./chart.ts";
import { runHelm } from "./helm-binary.ts";

type Obj = Record<string, unknown>;

let dir: string;
let jwksPem: string;
let spKey: string;
let spCrt: string;
const jwtSecret = randomSecret(48);
const apiKey = randomSecret(32);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tikti-helm-"));
  jwksPem = await generateRsaPem();
  // The chart only transports the SP pair; its content is checked by the server, not here.
  spKey = await generateRsaPem();
  spCrt = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n";
  writeFileSync(join(dir, "sp.key"), spKey);
  writeFileSync(join(dir, "sp.crt"), spCrt);
  writeFileSync(join(dir, "jwks.pem"), jwksPem);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The issue's seed command (placeholders filled with real values). */
const issueSeed = () => [
  "--set",
  "image.repository=registry.example.com/tikti",
  "--set",
  "image.tag=1.0.0",
  "--set-string",
  "config.redisAddr=redis:6379",
  "--set-string",
  `secrets.jwtSecret=${jwtSecret}`,
  "--set-string",
  `secrets.apiKey=${apiKey}`,
  "--set-string",
  `secrets.jwksPrivateKey=${jwksPem}`,
];
/** docs/spec/operations.md §9's install command. */
const specSeed = () => [...issueSeed(), "--set-string", "config.issuerBaseUrl=https://id.example.com"];
/** The SAML line of both. */
const samlSeed = [
  "--set",
  "saml.enabled=true",
  "--set-file",
  "secrets.samlSigningKey=sp.key",
  "--set-file",
  "secrets.samlSigningCert=sp.crt",
];

const render = (flags: string[]) => renderChart(flags, { cwd: dir });
const deployment = (r: Rendered) => oneOfKind(r, "Deployment");
const container = (r: Rendered) => at(deployment(r), "spec.template.spec.containers.0") as Obj;
const podSpec = (r: Rendered) => at(deployment(r), "spec.template.spec") as Obj;
const envOf = (r: Rendered) =>
  Object.fromEntries((container(r).env as { name: string; value: string }[]).map((e) => [e.name, e.value]));
const tiktiYaml = (cm: Obj | undefined) =>
  (cm?.data as Record<string, string> | undefined)?.["tikti.yaml"] as string;
const configMapYaml = (r: Rendered) =>
  tiktiYaml(byKind(r, "ConfigMap").find((c) => at(c, "metadata.name") === "tikti"));
const annotations = (r: Rendered) => at(deployment(r), "spec.template.metadata.annotations") as Obj;

const refusal = (flags: string[]) => helmRefusal(flags, { cwd: dir });

/** True when every label of a matchLabels-style selector is on the pod. */
const selects = (selector: Obj, podLabels: Obj) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => podLabels[k] === v);

/**
 * Issue 11 item 12: every selector of the release matches the pods of exactly the workload it
 * belongs to, and no other workload's pods (KVRocks, the migrate Job, the server).
 */
function expectSelectorsIsolated(r: Rendered): void {
  const workloads = r.manifests
    .filter((m) => ["Deployment", "StatefulSet", "Job"].includes(m.doc.kind as string))
    .map((m) => ({
      id: `${m.doc.kind}/${at(m.doc, "metadata.name")}`,
      labels: at(m.doc, "spec.template.metadata.labels") as Obj,
    }));
  const server = `Deployment/${at(deployment(r), "metadata.name")}`;
  const selectors: { owner: string; selector: Obj; target: string }[] = [];
  for (const { doc } of r.manifests) {
    const id = `${doc.kind}/${at(doc, "metadata.name")}`;
    if (doc.kind === "Deployment" || doc.kind === "StatefulSet") {
      selectors.push({ owner: id, selector: at(doc, "spec.selector.matchLabels") as Obj, target: id });
      for (const [i, term] of (
        (at(
          doc,
          "spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution",
        ) ?? []) as Obj[]
      ).entries())
        selectors.push({
          owner: `${id} anti-affinity ${i}`,
          selector: at(term, "podAffinityTerm.labelSelector.matchLabels") as Obj,
          target: id,
        });
    }
    if (doc.kind === "PodDisruptionBudget")
      selectors.push({ owner: id, selector: at(doc, "spec.selector.matchLabels") as Obj, target: server });
    if (doc.kind === "Service") {
      // The KVRocks Service fronts the StatefulSet; every other Service fronts the server.
      const component = (at(doc, "metadata.labels") as Obj)["app.kubernetes.io/component"];
      const kvrocks = byKind(r, "StatefulSet")[0];
      const target =
        component === "kvrocks" && kvrocks ? `StatefulSet/${at(kvrocks, "metadata.name")}` : server;
      selectors.push({ owner: id, selector: at(doc, "spec.selector") as Obj, target });
    }
  }
  expect(selectors.length).toBeGreaterThanOrEqual(3);
  for (const s of selectors) {
    const matched = workloads.filter((w) => selects(s.selector, w.labels)).map((w) => w.id);
    expect(matched, `${s.owner} selects ${JSON.stringify(s.selector)}`).toEqual([s.target]);
  }
  // The HPA scales the server Deployment; the ServiceMonitor selects one Service.
  for (const hpa of byKind(r, "HorizontalPodAutoscaler"))
    expect(`Deployment/${at(hpa, "spec.scaleTargetRef.name")}`).toBe(server);
  for (const sm of byKind(r, "ServiceMonitor")) {
    const services = byKind(r, "Service").filter((svc) =>
      selects(at(sm, "spec.selector.matchLabels") as Obj, at(svc, "metadata.labels") as Obj),
    );
    expect(services).toHaveLength(1);
  }
}

describe("values.schema.json (enforced by helm)", () => {
  it("accepts the seed commands (spec §9, SAML)", () => {
    expect(() => render(specSeed())).not.toThrow();
    expect(() => render([...specSeed(), ...samlSeed])).not.toThrow();
  });

  it("closes every object whose keys it knows (additionalProperties: false)", () => {
    const open: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (Array.isArray(node)) {
        for (const [i, n] of node.entries()) walk(n, `${path}[${i}]`);
      } else if (node && typeof node === "object") {
        const o = node as Obj;
        if (o.properties && o.additionalProperties !== false) open.push(path || "/");
        for (const [k, v] of Object.entries(o)) walk(v, `${path}/${k}`);
      }
    };
    walk(valuesSchema(), "");
    expect(open).toEqual([]);
  });

  it.each([
    ["replicaCont=3", "replicaCont"],
    ["image.repo=x", "repo"],
    ["config.redisAdr=redis:6379", "redisAdr"],
    ["config.http.trustedProxy=10.0.0.0/8", "trustedProxy"],
    ["config.jwtSecret=0123456789abcdef0123456789abcdef", "jwtSecret"],
    ["saml.sp.clockSkew=10", "clockSkew"],
    ["secrets.jwtSecrte=x", "jwtSecrte"],
    ["kvrocks.persistence.sise=1Gi", "sise"],
    ["probes.liveness.pathh=/x", "pathh"],
    ["securityContext.readOnlyRootFileSystem=true", "readOnlyRootFileSystem"],
    ["autoscaling.targetCPU=50", "targetCPU"],
  ])("rejects the typo --set %s", (set, key) => {
    expect(refusal([...specSeed(), "--set", set])).toContain(`Additional property ${key} is not allowed`);
  });

  it.each([
    [["--set-string", "replicaCount=2"], "replicaCount"],
    [["--set-string", "config.port=8080"], "config.port"],
    [["--set", "config.port=70000"], "config.port"],
    [["--set-string", "saml.enabled=true"], "saml.enabled"],
    [["--set", "config.redisCluster=a:1"], "config.redisCluster"],
    [["--set", "image.pullPolicy=Sometimes"], "image.pullPolicy"],
    [["--set", "config.logging.level=verbose"], "config.logging.level"],
    [["--set", "config.accounts.signUp=closed"], "config.accounts.signUp"],
    [["--set", "saml.sp.keyBits=1024"], "saml.sp.keyBits"],
    [["--set", "service.port=http"], "service.port"],
  ])("rejects the wrong type or value %j", (flags, path) => {
    const message = refusal([...specSeed(), ...flags]);
    expect(message).toContain("values don't meet the specifications of the schema");
    expect(message).toContain(`- ${path}:`);
  });

  it("describes exactly the server's configuration keys under config.* and saml.* (src/config/schema.ts)", () => {
    const schema = valuesSchema() as Obj;
    const leaves = (node: Obj, prefix: string[]): Map<string, string> => {
      const out = new Map<string, string>();
      for (const [k, v] of Object.entries((node.properties ?? {}) as Record<string, Obj>)) {
        if (v.type === "object" && v.properties)
          for (const [p, t] of leaves(v, [...prefix, k])) out.set(p, t);
        else out.set([...prefix, k].join("."), String(v.type));
      }
      return out;
    };
    const chart = new Map([
      ...leaves(at(schema, "properties.config") as Obj, []),
      ...leaves(at(schema, "properties.saml") as Obj, ["saml"]),
    ]);
    chart.delete("saml.existingSecret"); // the chart's own value, not a server key
    const secrets = new Set(["jwtSecret", "apiKey", "redisPassword", "jwksPrivateKey"]);
    const expected = new Map<string, string>();
    const kindToType = { int: "integer", bool: "boolean", list: "array", string: "string" } as const;
    for (const leaf of configLeaves()) {
      const key = leaf.path.join(".");
      if (secrets.has(key)) continue;
      const type =
        leaf.kind === "json" ? (chart.get(key) === "object" ? "object" : "array") : kindToType[leaf.kind];
      expected.set(key, type);
    }
    expect(Object.fromEntries([...chart].sort())).toEqual(Object.fromEntries([...expected].sort()));
  });

  it("values.yaml config.* holds only real server keys", () => {
    const config = chartValues().config;
    const parsed = configObjectSchema.safeParse({ ...(config as Obj) });
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  });

  it("has every value of docs/spec/operations.md §9 with its default", () => {
    const v = chartValues();
    const expectations: [string, unknown][] = [
      ["image.repository", ""],
      ["image.tag", ""],
      ["image.pullPolicy", "IfNotPresent"],
      ["replicaCount", 2],
      ["command", ["/app/tikti"]],
      ["args", ["-f", "/app/etc/tikti.yaml"]],
      ["secrets.enabled", true],
      ["secrets.existingSecret", ""],
      ["saml.enabled", false],
      ["saml.existingSecret", ""],
      ["kvrocks.enabled", false],
      ["kvrocks.image.repository", "apache/kvrocks"],
      ["kvrocks.persistence.size", "20Gi"],
      ["kvrocks.persistence.storageClass", ""],
      ["embedded.enabled", false],
      ["embedded.persistence.size", "5Gi"],
      ["autoscaling.enabled", false],
      ["autoscaling.minReplicas", 2],
      ["autoscaling.maxReplicas", 10],
      ["autoscaling.targetCPUUtilizationPercentage", 70],
      ["pdb.enabled", true],
      ["pdb.minAvailable", 1],
      ["service.type", "ClusterIP"],
      ["service.port", 80],
      ["service.targetPort", 8080],
      ["ingress.enabled", false],
      ["ingress.className", ""],
      ["ingress.hosts", []],
      ["ingress.tls", []],
      ["probes.liveness.path", "/healthz"],
      ["probes.readiness.path", "/readyz"],
      ["probes.startup.path", "/healthz"],
      ["probes.startup.failureThreshold", 30],
      ["probes.startup.periodSeconds", 2],
      ["resources", { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "512Mi" } }],
      [
        "podSecurityContext",
        {
          runAsNonRoot: true,
          runAsUser: 10001,
          runAsGroup: 10001,
          fsGroup: 10001,
          seccompProfile: { type: "RuntimeDefault" },
        },
      ],
      [
        "securityContext",
        { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
      ],
      ["metrics.serviceMonitor.enabled", false],
      ["migrate.job.enabled", false],
      ["extraEnv", []],
      ["extraEnvFrom", []],
      ["extraVolumes", []],
      ["extraVolumeMounts", []],
      ["podAnnotations", {}],
      ["nodeSelector", {}],
      ["tolerations", []],
      ["affinity", {}],
    ];
    for (const [path, value] of expectations) expect(at(v, path), path).toEqual(value);
    for (const k of [
      "jwtSecret",
      "apiKey",
      "redisPassword",
      "jwksPrivateKey",
      "samlSigningKey",
      "samlSigningCert",
      "samlSpPrivateKey",
      "samlSpCertificate",
      "samlNextSigningKey",
      "samlNextSigningCert",
      "samlEncryptionKey",
      "samlEncryptionCert",
    ])
      expect(at(v, `secrets.${k}`), k).toBe("");
    for (const k of ["sp", "acs", "idp", "discover", "metrics"]) expect(at(v, `saml.${k}`), k).toEqual({});
    expect(at(v, "kvrocks.image.tag")).toMatch(/^\d+\.\d+\.\d+$/); // pinned
  });
});

describe("Chart.yaml", () => {
  it("is a v2 application chart whose appVersion (the default image tag) is the package version", () => {
    const meta = chartMeta();
    expect(meta).toMatchObject({ apiVersion: "v2", name: "tikti", type: "application" });
    expect(meta.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(meta.appVersion).toBe(JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")).version);
  });
});

describe("rendering", () => {
  it("the spec §9 seed command renders the core objects", () => {
    const r = render(specSeed());
    const kinds = r.manifests.map((m) => m.doc.kind).sort();
    expect(kinds).toEqual([
      "ConfigMap",
      "Deployment",
      "PodDisruptionBudget",
      "Secret",
      "Service",
      "Service", // <release>-metrics: /metrics on its own port (docs/adr/0030-metrics-listener.md)
      "ServiceAccount",
    ]);
    expect(container(r).image).toBe("registry.example.com/tikti:1.0.0");
    expect(at(deployment(r), "spec.replicas")).toBe(2);
    expect(configMapYaml(r)).toContain("issuerBaseUrl: https://id.example.com");
    expect(r.notes).toContain("https://id.example.com/.well-known/openid-configuration");
  });

  it("every template renders objects of the expected kinds with all features on", () => {
    const r = render([
      ...specSeed(),
      ...samlSeed,
      "--set-string",
      "config.redisAddr=",
      "--set",
      "kvrocks.enabled=true",
      "--set",
      "autoscaling.enabled=true",
      "--set",
      "ingress.enabled=true",
      "--set",
      "ingress.hosts[0].host=id.example.com",
      "--set",
      "metrics.serviceMonitor.enabled=true",
      "--set",
      "migrate.job.enabled=true",
    ]);
    const kinds = new Set(r.manifests.map((m) => m.doc.kind));
    for (const kind of [
      "Deployment",
      "Service",
      "ConfigMap",
      "Secret",
      "ServiceAccount",
      "HorizontalPodAutoscaler",
      "PodDisruptionBudget",
      "Ingress",
      "StatefulSet",
      "ServiceMonitor",
      "Job",
    ])
      expect(kinds, kind).toContain(kind);
    // Every template file produced at least one object (NOTES.txt aside).
    const files = new Set(r.manifests.map((m) => m.file));
    for (const f of templateFiles().filter((f) => f !== "NOTES.txt" && f !== "pvc.yaml"))
      expect(files, f).toContain(f);
    expect(at(deployment(r), "spec.replicas")).toBeUndefined(); // the HPA owns it
    expect(at(oneOfKind(r, "HorizontalPodAutoscaler"), "spec.maxReplicas")).toBe(10);
    for (const m of r.manifests) {
      expect(m.doc.apiVersion, m.file).toEqual(expect.any(String));
      expect(at(m.doc, "metadata.name"), m.file).toEqual(expect.any(String));
    }
  });

  it("deployment: probes, security contexts, /tmp, resources", () => {
    const r = render(specSeed());
    const c = container(r);
    expect(at(c, "livenessProbe.httpGet")).toEqual({ path: "/healthz", port: "http" });
    expect(at(c, "readinessProbe.httpGet")).toEqual({ path: "/readyz", port: "http" });
    expect(at(c, "startupProbe.httpGet")).toEqual({ path: "/healthz", port: "http" });
    expect(at(c, "startupProbe.failureThreshold")).toBe(30);
    expect(at(c, "startupProbe.periodSeconds")).toBe(2);
    expect(at(c, "ports.0")).toEqual({ name: "http", containerPort: 8080, protocol: "TCP" });
    expect(c.securityContext).toEqual({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
    });
    expect(podSpec(r).securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      fsGroup: 10001,
    });
    expect(c.resources).toEqual({
      requests: { cpu: "100m", memory: "128Mi" },
      limits: { cpu: "1", memory: "512Mi" },
    });
    expect(c.command).toEqual(["/app/tikti"]);
    expect(c.args).toEqual(["-f", "/app/etc/tikti.yaml"]);
    const mounts = c.volumeMounts as Obj[];
    const volumes = podSpec(r).volumes as Obj[];
    const tmp = mounts.find((m) => m.mountPath === "/tmp");
    expect(volumes.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
    expect(mounts.find((m) => m.mountPath === "/app/etc")).toMatchObject({ name: "config", readOnly: true });
    expect(at(podSpec(r), "terminationGracePeriodSeconds")).toBe(40);
  });

  it("secrets: mounted 0400 under /etc/tikti/secrets and passed with *_FILE variables", () => {
    const r = render(specSeed());
    const secret = byKind(r, "Secret").find((s) => at(s, "metadata.name") === "tikti")!;
    const data = secret.data as Record<string, string>;
    expect(Buffer.from(data.jwtSecret!, "base64").toString()).toBe(jwtSecret);
    expect(Buffer.from(data.jwksPrivateKey!, "base64").toString()).toBe(jwksPem);
    expect(data.redisPassword).toBeUndefined(); // empty → no file, no variable
    const vol = (podSpec(r).volumes as Obj[]).find((v) => v.name === "secrets")!;
    expect(at(vol, "secret.defaultMode")).toBe(0o400);
    expect(at(vol, "secret.secretName")).toBe("tikti");
    expect((container(r).volumeMounts as Obj[]).find((m) => m.name === "secrets")).toMatchObject({
      mountPath: "/etc/tikti/secrets",
      readOnly: true,
    });
    expect(envOf(r)).toMatchObject({
      JWT_SECRET_FILE: "/etc/tikti/secrets/jwtSecret",
      API_KEY_FILE: "/etc/tikti/secrets/apiKey",
      JWKS_PRIVATE_KEY_FILE: "/etc/tikti/secrets/jwksPrivateKey",
    });
    expect(envOf(r).REDIS_PASSWORD_FILE).toBeUndefined();
    // No secret value in the ConfigMap or the pod spec.
    for (const v of [jwtSecret, apiKey]) {
      expect(configMapYaml(r)).not.toContain(v);
      expect(JSON.stringify(deployment(r))).not.toContain(v);
    }
    const withPassword = render([...specSeed(), "--set-string", "secrets.redisPassword=s3cret"]);
    expect(envOf(withPassword).REDIS_PASSWORD_FILE).toBe("/etc/tikti/secrets/redisPassword");
  });

  it("existingSecret: no Secret is rendered, the Deployment reads the named one", () => {
    const r = render([
      "--set",
      "image.repository=r/tikti",
      "--set-string",
      "config.redisAddr=redis:6379",
      "--set-string",
      "config.issuerBaseUrl=https://id.example.com",
      "--set",
      "secrets.existingSecret=tikti-keys",
    ]);
    expect(byKind(r, "Secret")).toEqual([]);
    const vol = (podSpec(r).volumes as Obj[]).find((v) => v.name === "secrets")!;
    expect(at(vol, "secret.secretName")).toBe("tikti-keys");
    expect(envOf(r).REDIS_PASSWORD_FILE).toBeUndefined();
    expect(r.notes).toContain("get secret tikti-keys -o jsonpath='{.data.apiKey}'");
    const withPw = render([
      "--set",
      "image.repository=r/tikti",
      "--set-string",
      "config.redisAddr=redis:6379",
      "--set-string",
      "config.issuerBaseUrl=https://id.example.com",
      "--set",
      "secrets.existingSecret=tikti-keys",
      "--set",
      "secrets.existingSecretHasRedisPassword=true",
    ]);
    expect(envOf(withPw).REDIS_PASSWORD_FILE).toBe("/etc/tikti/secrets/redisPassword");
  });

  it("checksums: config and main Secret changes roll the pods, SAML Secret changes do not", () => {
    const base = render([...specSeed(), ...samlSeed]);
    const a = annotations(base);
    const sha = (s: string) => createHash("sha256").update(s).digest("hex");
    expect(a["checksum/config"]).toBe(sha(configMapYaml(base).replace(/\n$/, "")));
    expect(a["checksum/secret"]).toMatch(/^[0-9a-f]{64}$/);
    expect(
      Object.keys(a)
        .filter((k) => k.startsWith("checksum/"))
        .sort(),
    ).toEqual(["checksum/config", "checksum/secret"]);

    const config = annotations(render([...specSeed(), ...samlSeed, "--set", "config.logging.level=debug"]));
    expect(config["checksum/config"]).not.toBe(a["checksum/config"]);
    const secret = annotations(
      render([...specSeed(), ...samlSeed, "--set-string", `secrets.apiKey=${randomSecret()}`]),
    );
    expect(secret["checksum/secret"]).not.toBe(a["checksum/secret"]);
    const rotated = render([
      ...specSeed(),
      ...samlSeed,
      "--set-file",
      "secrets.samlNextSigningKey=sp.key",
      "--set-file",
      "secrets.samlNextSigningCert=sp.crt",
    ]);
    expect(annotations(rotated)).toEqual(a);
    const samlSecret = byKind(rotated, "Secret").find((s) => at(s, "metadata.name") === "tikti-saml")!;
    expect(Object.keys(samlSecret.data as Obj).sort()).toEqual([
      "sp-next.crt",
      "sp-next.key",
      "sp.crt",
      "sp.key",
    ]);
  });

  it("SAML: the Secret is mounted at /etc/tikti/saml without subPath, mode 0400, matching the config paths", () => {
    const r = render([...specSeed(), ...samlSeed]);
    const samlSecret = byKind(r, "Secret").find((s) => at(s, "metadata.name") === "tikti-saml")!;
    const data = samlSecret.data as Record<string, string>;
    expect(Buffer.from(data["sp.key"]!, "base64").toString()).toBe(spKey);
    expect(Buffer.from(data["sp.crt"]!, "base64").toString()).toBe(spCrt);
    const mount = (container(r).volumeMounts as Obj[]).find((m) => m.mountPath === "/etc/tikti/saml")!;
    expect(mount).toBeDefined();
    expect(mount.subPath).toBeUndefined();
    for (const m of container(r).volumeMounts as Obj[]) expect(m.subPath, String(m.name)).toBeUndefined();
    const vol = (podSpec(r).volumes as Obj[]).find((v) => v.name === mount.name)!;
    expect(at(vol, "secret")).toMatchObject({ secretName: "tikti-saml", defaultMode: 0o400 });
    expect(at(vol, "secret.items")).toBeUndefined(); // whole Secret: staged files appear when added
    const cfg = parseAllDocuments(configMapYaml(r))[0]!.toJS() as Obj;
    expect(at(cfg, "saml.enabled")).toBe(true);
    // Server defaults (/etc/tikti/saml/sp.key, sp.crt, sp-next.*) are the mounted file names.
    expect(at(cfg, "saml.sp")).toEqual({});

    const alias = render([
      ...specSeed(),
      "--set",
      "saml.enabled=true",
      "--set-file",
      "secrets.samlSpPrivateKey=sp.key",
      "--set-file",
      "secrets.samlSpCertificate=sp.crt",
      "--set-file",
      "secrets.samlEncryptionKey=sp.key",
      "--set-file",
      "secrets.samlEncryptionCert=sp.crt",
    ]);
    const aliasSecret = byKind(alias, "Secret").find((s) => at(s, "metadata.name") === "tikti-saml")!;
    expect(Object.keys(aliasSecret.data as Obj).sort()).toEqual(["enc.crt", "enc.key", "sp.crt", "sp.key"]);
    const aliasCfg = parseAllDocuments(configMapYaml(alias))[0]!.toJS() as Obj;
    expect(at(aliasCfg, "saml.sp")).toEqual({
      encryptionKeyPath: "/etc/tikti/saml/enc.key",
      encryptionCertPath: "/etc/tikti/saml/enc.crt",
    });
  });

  it("kvrocks.enabled: a StatefulSet with a PVC and a Service, wired into config.redisAddr", () => {
    const r = render([
      ...specSeed(),
      "--set-string",
      "config.redisAddr=",
      "--set",
      "kvrocks.enabled=true",
      "--set",
      "kvrocks.persistence.storageClass=fast",
    ]);
    const sts = oneOfKind(r, "StatefulSet");
    const svc = byKind(r, "Service").find((s) => at(s, "metadata.name") === "tikti-kvrocks")!;
    expect(at(svc, "spec.ports.0.port")).toBe(6666);
    expect(at(sts, "spec.serviceName")).toBe("tikti-kvrocks");
    expect(at(sts, "spec.template.spec.containers.0.image")).toBe("apache/kvrocks:2.12.1");
    expect(at(sts, "spec.volumeClaimTemplates.0.spec.resources.requests.storage")).toBe("20Gi");
    expect(at(sts, "spec.volumeClaimTemplates.0.spec.storageClassName")).toBe("fast");
    expect(at(sts, "spec.template.spec.containers.0.volumeMounts.0.mountPath")).toBe("/var/lib/kvrocks");
    expect(configMapYaml(r)).toContain("redisAddr: tikti-kvrocks:6666");
    // Each workload selects by its component (the selector test below checks every pair).
    expect(at(svc, "spec.selector")).toMatchObject({ "app.kubernetes.io/component": "kvrocks" });
    expect(at(deployment(r), "spec.selector.matchLabels")).toMatchObject({
      "app.kubernetes.io/component": "server",
    });
    expectSelectorsIsolated(r);
  });

  it("embedded.enabled: one replica, Recreate, a PVC at /var/lib/tikti, no PDB", () => {
    const r = render([
      "--set",
      "image.repository=r/tikti",
      "--set-string",
      "config.redisAddr=",
      "--set-string",
      "config.issuerBaseUrl=https://id.example.com",
      "--set",
      "embedded.enabled=true",
      "--set",
      "replicaCount=1",
      "--set-string",
      `secrets.jwtSecret=${jwtSecret}`,
      "--set-string",
      `secrets.apiKey=${apiKey}`,
      "--set-string",
      `secrets.jwksPrivateKey=${jwksPem}`,
    ]);
    expect(at(deployment(r), "spec.replicas")).toBe(1);
    expect(at(deployment(r), "spec.strategy.type")).toBe("Recreate");
    const pvc = oneOfKind(r, "PersistentVolumeClaim");
    expect(at(pvc, "spec.resources.requests.storage")).toBe("5Gi");
    const mount = (container(r).volumeMounts as Obj[]).find((m) => m.mountPath === "/var/lib/tikti")!;
    const vol = (podSpec(r).volumes as Obj[]).find((v) => v.name === mount.name)!;
    expect(at(vol, "persistentVolumeClaim.claimName")).toBe(at(pvc, "metadata.name"));
    expect(byKind(r, "PodDisruptionBudget")).toEqual([]);
    expect(configMapYaml(r)).toContain("dataDir: /var/lib/tikti");
  });

  it("ServiceMonitor, Ingress and migrate hook details", () => {
    const r = render([
      ...specSeed(),
      "--set",
      "metrics.serviceMonitor.enabled=true",
      "--set",
      "config.metrics.port=9090",
      "--set",
      "ingress.enabled=true",
      "--set",
      "ingress.className=nginx",
      "--set",
      "ingress.hosts[0].host=id.example.com",
      "--set",
      "migrate.job.enabled=true",
    ]);
    expect(at(oneOfKind(r, "ServiceMonitor"), "spec.endpoints.0")).toMatchObject({
      port: "metrics",
      path: "/metrics",
    });
    // It scrapes the ClusterIP metrics Service, never the main one.
    expect(at(oneOfKind(r, "ServiceMonitor"), "spec.selector.matchLabels")).toMatchObject({
      "app.kubernetes.io/component": "metrics",
    });
    const metricsSvc = byKind(r, "Service").find((s) => at(s, "metadata.name") === "tikti-metrics")!;
    expect(at(metricsSvc, "spec.ports")).toEqual([
      { name: "metrics", port: 9090, targetPort: "metrics", protocol: "TCP" },
    ]);
    expect(at(oneOfKind(r, "Ingress"), "spec.rules.0.host")).toBe("id.example.com");
    expect(at(oneOfKind(r, "Ingress"), "spec.ingressClassName")).toBe("nginx");
    expect(at(oneOfKind(r, "Ingress"), "spec.rules.0.http.paths.0.backend.service.name")).toBe("tikti");
    const job = oneOfKind(r, "Job");
    expect(at(job, "metadata.annotations")).toMatchObject({ "helm.sh/hook": "pre-install,pre-upgrade" });
    expect(at(job, "spec.template.spec.containers.0.command")).toEqual(["/app/tikti-migrate"]);
    expect(at(job, "spec.template.spec.containers.0.args")).toEqual(["--config", "/app/etc/tikti.yaml"]);
    // The hook brings its own ConfigMap and Secret (the release's do not exist yet at pre-install).
    const hookCm = byKind(r, "ConfigMap").find((c) => at(c, "metadata.name") === "tikti-migrate")!;
    expect((hookCm.metadata as Obj).annotations).toMatchObject({ "helm.sh/hook-weight": "-10" });
    expect(tiktiYaml(hookCm)).toContain("redisAddr: redis:6379");
    const kv = render([
      ...specSeed(),
      "--set-string",
      "config.redisAddr=",
      "--set",
      "kvrocks.enabled=true",
      "--set",
      "migrate.job.enabled=true",
    ]);
    expect(at(oneOfKind(kv, "Job"), "metadata.annotations")).toMatchObject({ "helm.sh/hook": "pre-upgrade" });
  });

  it("metrics: /metrics on its own port 9464, published by a ClusterIP Service apart from the main one", () => {
    const r = render([...specSeed(), "--set", "service.type=LoadBalancer"]);
    const cfg = parseAllDocuments(configMapYaml(r))[0]!.toJS() as Obj;
    expect(at(cfg, "metrics")).toEqual({ enabled: true, port: 9464 });
    expect(at(container(r), "ports.1")).toEqual({ name: "metrics", containerPort: 9464, protocol: "TCP" });
    const main = byKind(r, "Service").find((s) => at(s, "metadata.name") === "tikti")!;
    expect(at(main, "spec.type")).toBe("LoadBalancer");
    expect((at(main, "spec.ports") as Obj[]).map((p) => p.name)).toEqual(["http"]);
    const metrics = byKind(r, "Service").find((s) => at(s, "metadata.name") === "tikti-metrics")!;
    expect(at(metrics, "spec.type")).toBe("ClusterIP");
    expect(at(metrics, "spec.ports")).toEqual([
      { name: "metrics", port: 9464, targetPort: "metrics", protocol: "TCP" },
    ]);
    expect(byKind(r, "Ingress")).toEqual([]);

    // The operator's explicit choice: on the main port and Service, scraped there.
    const onMain = render([
      ...specSeed(),
      "--set",
      "config.metrics.port=0",
      "--set",
      "metrics.serviceMonitor.enabled=true",
    ]);
    expect(byKind(onMain, "Service").map((s) => at(s, "metadata.name"))).toEqual(["tikti"]);
    expect((container(onMain).ports as Obj[]).map((p) => p.name)).toEqual(["http"]);
    expect(at(oneOfKind(onMain, "ServiceMonitor"), "spec.endpoints.0.port")).toBe("http");
    expect(configMapYaml(onMain)).toContain("port: 0");
  });

  it("NOTES.txt tells how to reach Tikti and fetch the API key", () => {
    const r = render(specSeed());
    expect(r.notes).toContain("kubectl -n default port-forward svc/tikti 8080:80");
    expect(r.notes).toContain("curl -s http://127.0.0.1:8080/healthz");
    expect(r.notes).toContain("kubectl -n default get secret tikti -o jsonpath='{.data.apiKey}' | base64 -d");
    expect(r.notes).toContain(
      "Issuer (the `iss` of every token; changing it later invalidates every token): https://id.example.com",
    );
    expect(r.notes).toContain("kubectl -n default port-forward svc/tikti-metrics 9464:9464");
  });
});

describe("render-time refusals (docs/spec/operations.md §9)", () => {
  const base = () => ["--set", "image.repository=r/tikti", ...specSeed().slice(2)];

  it.each([
    [["--set", "image.repository="], "image.repository is required"],
    [["--set-string", "config.redisAddr="], "no storage chosen"],
    [
      ["--set", "embedded.enabled=true", "--set-string", "config.redisAddr="],
      "embedded.enabled needs replicaCount=1 (got 2)",
    ],
    [
      [
        "--set",
        "embedded.enabled=true",
        "--set-string",
        "config.redisAddr=",
        "--set",
        "replicaCount=1",
        "--set",
        "autoscaling.enabled=true",
      ],
      "embedded.enabled cannot be combined with autoscaling.enabled",
    ],
    [["--set", "saml.enabled=true"], "saml.enabled=true needs an SP signing pair"],
    [
      ["--set", "saml.enabled=true", "--set-file", "secrets.samlSigningKey=sp.key"],
      "saml.enabled=true needs an SP signing pair",
    ],
    [["--set", "secrets.enabled=false"], "secrets.enabled=false needs secrets.existingSecret"],
    [["--set-string", "secrets.jwtSecret="], "secrets.jwtSecret is required"],
    [["--set-string", "config.issuerBaseUrl="], "config.issuerBaseUrl is required"],
    [["--set", "kvrocks.enabled=true"], "choose exactly one storage, not config.redisAddr, kvrocks.enabled"],
    [["--set", "config.devMode=true"], "config.devMode=true binds to 127.0.0.1"],
    [["--set", "config.port=9000"], "service.targetPort (8080) must equal config.port (9000)"],
    [
      ["--set", "config.metrics.port=8080"],
      "config.metrics.port (8080) must differ from config.port: /metrics gets its own listener",
    ],
    [
      ["--set", "config.metrics.enabled=false", "--set", "metrics.serviceMonitor.enabled=true"],
      "metrics.serviceMonitor.enabled needs config.metrics.enabled=true",
    ],
  ])("%j is refused", (flags, message) => {
    expect(refusal([...base(), ...(flags as string[])])).toContain(message);
  });

  it("accepts the same values once the problem is fixed", () => {
    expect(() =>
      render([...base(), "--set", "saml.enabled=true", "--set", "saml.existingSecret=sp-pair"]),
    ).not.toThrow();
    expect(() =>
      render([...base(), "--set", "secrets.enabled=false", "--set", "secrets.existingSecret=keys"]),
    ).not.toThrow();
    expect(() =>
      render([...base(), "--set", "config.port=9000", "--set", "service.targetPort=9000"]),
    ).not.toThrow();
  });
});

describe("issue 11 item 14: the issuer and the placeholder secrets", () => {
  it("the issue's seed (no config.issuerBaseUrl) is refused with a message naming the key, not a derived URL", () => {
    const message = refusal(issueSeed());
    expect(message).toContain(
      "config.issuerBaseUrl is required: the public https URL clients use to reach Tikti",
    );
    expect(message).toContain("--set-string config.issuerBaseUrl=https://id.example.com");
  });

  it.each([
    ["http://id.example.com", "must be an absolute https URL"],
    ["id.example.com", "must be an absolute https URL"],
    ["https://id.example.com/?x=1", "without query or fragment"],
  ])("config.issuerBaseUrl=%s is refused at render time", (url, message) => {
    expect(refusal([...issueSeed(), "--set-string", `config.issuerBaseUrl=${url}`])).toContain(message);
  });

  it("a trailing slash is removed, as the server does", () => {
    const r = render([...issueSeed(), "--set-string", "config.issuerBaseUrl=https://id.example.com/"]);
    expect(configMapYaml(r)).toContain("issuerBaseUrl: https://id.example.com\n");
  });

  const seedWith = (key: string, value: string, flag = "--set-string") => [
    ...specSeed(),
    flag,
    `secrets.${key}=${value}`,
  ];

  it.each([
    [
      "jwtSecret",
      "CHANGE_ME",
      'secrets.jwtSecret: expected at least 32 random characters with at least 16 different ones, the HS256 idToken key: --set-string secrets.jwtSecret="$(openssl rand -hex 32)" (or secrets.existingSecret); got the placeholder "CHANGE_ME"',
    ],
    [
      "apiKey",
      "CHANGE_ME",
      "secrets.apiKey: expected at least 32 random characters with at least 16 different ones, the service API key",
    ],
    ["jwksPrivateKey", "CHANGE_ME", "secrets.jwksPrivateKey: expected a PEM private key"],
    ["redisPassword", "CHANGE_ME", "secrets.redisPassword: expected the real value, the Redis password"],
    ["jwtSecret", "changeme", 'got the placeholder "changeme"'],
    ["apiKey", "<your api key>", 'got the placeholder "<your api key>"'],
    ["jwtSecret", "too-short", "got 9 characters"],
    ["apiKey", "a".repeat(40), "got only 1 different characters"],
    ["jwksPrivateKey", "not-a-pem", "got 9 characters that are not a PEM private key"],
  ])("secrets.%s=%s is refused with a message naming the key and what is expected", (key, value, message) => {
    const m = refusal(seedWith(key, value));
    expect(m).toContain(message);
    expect(m).toContain(`secrets.${key}`);
    // Not the schema validator's riddle the issue quoted.
    expect(m).not.toContain("String length must be");
    expect(m).not.toContain("anyOf");
  });

  it("a real-looking secret is never echoed in a refusal", () => {
    const almost = "Zq9".repeat(5); // 15 characters, 3 different ones
    const m = refusal(seedWith("jwtSecret", almost));
    expect(m).toContain("got 15 characters");
    expect(m).not.toContain(almost);
  });

  it("SAML key files: a placeholder or a non-PEM value is refused naming the value", () => {
    // helm applies --set-file after --set-string: the other half of the pair comes from its file.
    const saml = (k: string, v: string, other: string) => [
      ...specSeed(),
      "--set",
      "saml.enabled=true",
      "--set-file",
      other,
      "--set-string",
      `secrets.${k}=${v}`,
    ];
    expect(refusal(saml("samlSigningKey", "CHANGE_ME", "secrets.samlSigningCert=sp.crt"))).toContain(
      'secrets.samlSigningKey: expected a PEM private key (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----), a SAML SP private key: --set-file secrets.samlSigningKey=sp.key (or secrets.existingSecret); got the placeholder "CHANGE_ME"',
    );
    expect(refusal(saml("samlSigningCert", "hello", "secrets.samlSigningKey=sp.key"))).toContain(
      "secrets.samlSigningCert: expected a PEM certificate (-----BEGIN CERTIFICATE-----)",
    );
  });

  it("with secrets.existingSecret the chart does not judge values it does not use", () => {
    expect(() =>
      render([
        ...specSeed(),
        "--set",
        "secrets.existingSecret=tikti-keys",
        "--set-string",
        "secrets.jwtSecret=CHANGE_ME",
      ]),
    ).not.toThrow();
  });
});

describe("the rendered tikti.yaml is accepted by the server (tikti --check)", () => {
  function check(r: Rendered): { status: number | null; out: string } {
    const work = mkdtempSync(join(dir, "check-"));
    const cfgFile = join(work, "tikti.yaml");
    writeFileSync(cfgFile, configMapYaml(r));
    const env: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: work, NO_COLOR: "1" };
    // The Secret's keys, written as the kubelet would (files, mode 0400), named by the pod's *_FILE env.
    const secret = byKind(r, "Secret").find((s) => at(s, "metadata.name") === "tikti") ?? {};
    for (const [name, path] of Object.entries(envOf(r))) {
      if (!name.endsWith("_FILE")) continue;
      const key = path.split("/").pop()!;
      const value = Buffer.from((secret.data as Record<string, string>)[key]!, "base64").toString();
      const file = join(work, key);
      writeFileSync(file, value, { mode: 0o400 });
      env[name] = file;
    }
    const node = runtimeBinary("node") as string;
    const res = spawnSync(node, [join(repoRoot, "src/runtime/node.ts"), "-f", cfgFile, "--check"], {
      cwd: work,
      env,
      encoding: "utf8",
      timeout: 60_000,
    });
    return { status: res.status, out: `${res.stdout}${res.stderr}` };
  }

  it.each([
    ["the spec §9 seed", () => specSeed()],
    [
      "kvrocks.enabled",
      () => [...specSeed(), "--set-string", "config.redisAddr=", "--set", "kvrocks.enabled=true"],
    ],
    [
      "embedded.enabled",
      () => [
        ...specSeed(),
        "--set-string",
        "config.redisAddr=",
        "--set",
        "embedded.enabled=true",
        "--set",
        "replicaCount=1",
      ],
    ],
    [
      "tuned values",
      () => [
        ...specSeed(),
        "--set",
        "config.http.trustedProxies[0]=10.0.0.0/8",
        "--set",
        "config.accounts.passwordHash.scheme=bcrypt",
        "--set",
        "config.rateLimits.signInIp.limit=10",
        "--set",
        "config.metrics.port=9090",
        "--set-string",
        "secrets.redisPassword=pw",
      ],
    ],
  ])("%s", (_name, flags) => {
    const r = render(flags());
    const { status, out } = check(r);
    expect(out).toContain("config ok");
    expect(status, out).toBe(0);
  });

  it("and a broken value is refused by the same check (the check can fail)", () => {
    const r = render([...specSeed(), "--set-string", "config.http.trustedProxies[0]=not-a-cidr"]);
    const { status, out } = check(r);
    expect(status).toBe(2);
    expect(out).toContain("http.trustedProxies[0]");
  });
});

// ---------------------------------------------------------------- helm lint --strict, every toggle

/** Every switch of the chart, alone, plus all of them together (built after beforeAll made the keys). */
const toggles = (): [string, string[]][] => {
  const noRedis = ["--set-string", "config.redisAddr="];
  return [
    ["the spec §9 seed", specSeed()],
    ["saml.enabled", [...specSeed(), ...samlSeed]],
    [
      "saml.existingSecret",
      [...specSeed(), "--set", "saml.enabled=true", "--set", "saml.existingSecret=sp-pair"],
    ],
    ["kvrocks.enabled", [...specSeed(), ...noRedis, "--set", "kvrocks.enabled=true"]],
    [
      "kvrocks.enabled with a Redis password",
      [
        ...specSeed(),
        ...noRedis,
        "--set",
        "kvrocks.enabled=true",
        "--set-string",
        "secrets.redisPassword=pw",
      ],
    ],
    [
      "embedded.enabled",
      [...specSeed(), ...noRedis, "--set", "embedded.enabled=true", "--set", "replicaCount=1"],
    ],
    ["autoscaling.enabled", [...specSeed(), "--set", "autoscaling.enabled=true"]],
    ["pdb.enabled=false", [...specSeed(), "--set", "pdb.enabled=false"]],
    [
      "ingress.enabled",
      [...specSeed(), "--set", "ingress.enabled=true", "--set", "ingress.hosts[0].host=id.example.com"],
    ],
    ["metrics.serviceMonitor.enabled", [...specSeed(), "--set", "metrics.serviceMonitor.enabled=true"]],
    ["migrate.job.enabled", [...specSeed(), "--set", "migrate.job.enabled=true"]],
    [
      "secrets.existingSecret",
      [
        "--set",
        "image.repository=r/tikti",
        "--set-string",
        "config.redisAddr=redis:6379",
        "--set-string",
        "config.issuerBaseUrl=https://id.example.com",
        "--set",
        "secrets.existingSecret=tikti-keys",
      ],
    ],
    ["serviceAccount.create=false", [...specSeed(), "--set", "serviceAccount.create=false"]],
    [
      "everything on",
      [
        ...specSeed(),
        ...samlSeed,
        ...noRedis,
        "--set",
        "kvrocks.enabled=true",
        "--set",
        "autoscaling.enabled=true",
        "--set",
        "ingress.enabled=true",
        "--set",
        "ingress.hosts[0].host=id.example.com",
        "--set",
        "metrics.serviceMonitor.enabled=true",
        "--set",
        "migrate.job.enabled=true",
      ],
    ],
  ];
};

describe("helm lint --strict and helm template (real helm)", () => {
  it.each(toggles().map(([name]) => name))("%s", (name) => {
    const flags = new Map(toggles()).get(name)!;
    const lint = runHelm(["lint", "--strict", chartDir, ...flags], dir);
    expect(lint.status, `${lint.stdout}${lint.stderr}`).toBe(0);
    expect(lint.stdout).toContain("1 chart(s) linted, 0 chart(s) failed");
    const r = render(flags);
    expect(byKind(r, "Deployment")).toHaveLength(1);
    expectSelectorsIsolated(r);
  });

  it("helm lint --strict fails on a broken value (the lint can fail)", () => {
    const lint = runHelm(["lint", "--strict", chartDir, ...specSeed(), "--set", "replicaCont=3"], dir);
    expect(lint.status).not.toBe(0);
    expect(`${lint.stdout}${lint.stderr}`).toContain("Additional property replicaCont is not allowed");
  });
});
