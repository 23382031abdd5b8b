// Validates rendered Kubernetes manifests: every object against the Kubernetes schemas
// (npm kubernetes-models; CloudNativePG's and prometheus-operator's custom resources with
// @kubernetes-models/cloudnative-pg and @kubernetes-models/prometheus-operator), then the rules
// Qcash's deployment must keep so they cannot regress.
//
//   node validate.mjs <overlay name> <rendered.yaml>     exit 0 when every check passes
//   node validate.mjs release <rendered.yaml>            prod's rules, every image by digest
//
// The overlay name selects the rules that differ: "prod" must be highly available and carry no
// development-only parts; "dev" and "fixture" (the deliberately broken sample the test suite
// uses to prove these checks can fail) get the rules common to all.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

const [mode, file] = process.argv.slice(2);
// "release": the production rules, and every image pinned by digest (the rendered manifests of
// a deployment, after the pipeline has set the digests).
const release = mode === 'release';
const overlay = release ? 'prod' : mode;
if (!overlay || !file) {
  console.error('usage: node validate.mjs <overlay> <rendered.yaml>');
  process.exit(2);
}

const problems = [];
const problem = (object, message) =>
  problems.push(`${object.kind}/${object.metadata?.name ?? '?'}: ${message}`);

const objects = parseAllDocuments(readFileSync(file, 'utf8'))
  .map((doc) => doc.toJS())
  .filter((o) => o && typeof o === 'object');
if (objects.length === 0) problems.push('no objects rendered');

// 1. The Kubernetes schemas, and the operators' for their custom resources (an unknown
//    apiVersion/kind, e.g. a custom resource no model package here knows, is refused).
const MODELS = {
  'postgresql.cnpg.io': '@kubernetes-models/cloudnative-pg',
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
};
for (const object of objects) {
  const group = object.apiVersion ?? '';
  const models = MODELS[group.split('/')[0]] ?? 'kubernetes-models';
  let Model;
  try {
    ({ [object.kind]: Model } = await import(`${models}/${group}/${object.kind}`));
  } catch {
    problem(object, `unknown apiVersion/kind ${object.apiVersion}/${object.kind}`);
    continue;
  }
  try {
    new Model(object).validate();
  } catch (error) {
    problem(object, `invalid against the ${object.apiVersion} schema: ${error.message}`);
  }
}

// The schemas allow unknown keys, so a typo (readinesProbe) would pass them: known keys only.
const KNOWN = {
  container: ['args', 'command', 'env', 'envFrom', 'image', 'imagePullPolicy', 'lifecycle',
    'livenessProbe', 'name', 'ports', 'readinessProbe', 'resizePolicy', 'resources',
    'restartPolicy', 'securityContext', 'startupProbe', 'stdin', 'stdinOnce',
    'terminationMessagePath', 'terminationMessagePolicy', 'tty', 'volumeDevices',
    'volumeMounts', 'workingDir'],
  podSpec: ['activeDeadlineSeconds', 'affinity', 'automountServiceAccountToken', 'containers',
    'dnsConfig', 'dnsPolicy', 'enableServiceLinks', 'ephemeralContainers', 'hostAliases',
    'hostIPC', 'hostNetwork', 'hostPID', 'hostUsers', 'hostname', 'imagePullSecrets',
    'initContainers', 'nodeName', 'nodeSelector', 'os', 'overhead', 'preemptionPolicy',
    'priority', 'priorityClassName', 'readinessGates', 'resourceClaims', 'restartPolicy',
    'runtimeClassName', 'schedulerName', 'schedulingGates', 'securityContext',
    'serviceAccount', 'serviceAccountName', 'setHostnameAsFQDN', 'shareProcessNamespace',
    'subdomain', 'terminationGracePeriodSeconds', 'tolerations', 'topologySpreadConstraints',
    'volumes'],
  probe: ['exec', 'failureThreshold', 'grpc', 'httpGet', 'initialDelaySeconds', 'periodSeconds',
    'successThreshold', 'tcpSocket', 'terminationGracePeriodSeconds', 'timeoutSeconds'],
  // CloudNativePG's Cluster spec (CNPG 1.24, @kubernetes-models/cloudnative-pg 0.1.4).
  clusterSpec: ['affinity', 'backup', 'bootstrap', 'certificates', 'description', 'enablePDB',
    'enableSuperuserAccess', 'env', 'envFrom', 'ephemeralVolumeSource',
    'ephemeralVolumesSizeLimit', 'externalClusters', 'failoverDelay', 'imageCatalogRef',
    'imageName', 'imagePullPolicy', 'imagePullSecrets', 'inheritedMetadata', 'instances',
    'livenessProbeTimeout', 'logLevel', 'managed', 'maxSyncReplicas', 'minSyncReplicas',
    'monitoring', 'nodeMaintenanceWindow', 'plugins', 'postgresGID', 'postgresUID', 'postgresql',
    'primaryUpdateMethod', 'primaryUpdateStrategy', 'priorityClassName',
    'projectedVolumeTemplate', 'replica', 'replicationSlots', 'resources', 'schedulerName',
    'seccompProfile', 'serviceAccountTemplate', 'smartShutdownTimeout', 'startDelay',
    'stopDelay', 'storage', 'superuserSecret', 'switchoverDelay', 'tablespaces',
    'topologySpreadConstraints', 'walStorage'],
  alertingRule: ['alert', 'annotations', 'expr', 'for', 'keep_firing_for', 'labels'],
  securityContext: ['allowPrivilegeEscalation', 'appArmorProfile', 'capabilities', 'privileged',
    'procMount', 'readOnlyRootFilesystem', 'runAsGroup', 'runAsNonRoot', 'runAsUser',
    'seLinuxOptions', 'seccompProfile', 'windowsOptions'],
};
const checkKeys = (object, where, value, kind) => {
  for (const key of Object.keys(value ?? {})) {
    if (!KNOWN[kind].includes(key)) problem(object, `${where}: unknown field "${key}"`);
  }
};

// 2. The rules for every workload.
const WORKLOADS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'];
const podSpecOf = (o) => (o.kind === 'CronJob' ? o.spec?.jobTemplate?.spec?.template?.spec
                                               : o.spec?.template?.spec);
// Names that carry secrets; their values must come from Secrets, or be paths of files mounted
// from Secrets.
const SECRET_NAME = /(SECRET|PASSWORD|PASSWD|PRIVATE|API_KEY|_TOKEN$|_KEY$)/;
const isPath = (value) => typeof value === 'string' && value.startsWith('/');

for (const object of objects.filter((o) => WORKLOADS.includes(o.kind))) {
  const pod = podSpecOf(object);
  if (!pod) {
    problem(object, 'no pod template');
    continue;
  }
  checkKeys(object, 'pod spec', pod, 'podSpec');
  const podNonRoot = pod.securityContext?.runAsNonRoot === true;
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) problem(object, 'shares the host namespaces');
  const containers = [...(pod.initContainers ?? []), ...(pod.containers ?? [])];
  for (const c of containers) {
    const where = `container ${c.name}`;
    const isInit = (pod.initContainers ?? []).includes(c);
    checkKeys(object, where, c, 'container');
    checkKeys(object, `${where} securityContext`, c.securityContext, 'securityContext');
    for (const p of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      if (c[p]) checkKeys(object, `${where} ${p}`, c[p], 'probe');
    }
    // Images: an explicit tag or digest, never latest.
    const image = c.image ?? '';
    const lastPart = image.split('/').pop();
    if (!image) problem(object, `${where}: no image`);
    else if (!lastPart.includes(':') && !image.includes('@sha256:')) {
      problem(object, `${where}: image ${image} has no tag`);
    } else if (/:latest$/.test(image)) problem(object, `${where}: image ${image} uses latest`);
    // A release is what runs: every image pinned by digest (docs/OPERATIONS.md), so that a tag
    // moved in the registry cannot change it.
    if (release && image && !/@sha256:[0-9a-f]{64}$/.test(image)) {
      problem(object, `${where}: image ${image} is not pinned by digest`);
    }
    // Requests and limits for CPU and memory.
    for (const kind of ['requests', 'limits']) {
      for (const resource of ['cpu', 'memory']) {
        if (c.resources?.[kind]?.[resource] === undefined) {
          problem(object, `${where}: no ${kind}.${resource}`);
        }
      }
    }
    // Probes on every long-running container.
    if (!isInit) {
      if (!c.livenessProbe) problem(object, `${where}: no liveness probe`);
      if (!c.readinessProbe) problem(object, `${where}: no readiness probe`);
    }
    // Non-root, read-only, no escalation, no capabilities.
    const sc = c.securityContext ?? {};
    if (!(podNonRoot || sc.runAsNonRoot === true)) problem(object, `${where}: may run as root`);
    if (sc.runAsUser === 0 || pod.securityContext?.runAsUser === 0) {
      problem(object, `${where}: runs as uid 0`);
    }
    if (sc.readOnlyRootFilesystem !== true) problem(object, `${where}: root filesystem writable`);
    if (sc.allowPrivilegeEscalation !== false) problem(object, `${where}: privilege escalation allowed`);
    if (sc.privileged === true) problem(object, `${where}: privileged`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) {
      problem(object, `${where}: capabilities not all dropped`);
    }
    // Secrets come from Secrets (or files mounted from them), never as literal values.
    for (const e of c.env ?? []) {
      if (SECRET_NAME.test(e.name) && e.value !== undefined && !isPath(e.value)) {
        problem(object, `${where}: ${e.name} is a literal value; reference a Secret`);
      }
    }
  }
}

// 3. Secrets are referenced, never committed.
for (const o of objects.filter((x) => x.kind === 'Secret')) {
  problem(o, 'a Secret object is rendered: secrets must be created outside the repository');
}
for (const o of objects.filter((x) => x.kind === 'ConfigMap')) {
  for (const [key, value] of Object.entries(o.data ?? {})) {
    if (SECRET_NAME.test(key) && !isPath(value)) {
      problem(o, `${key}=${value} looks like a secret in a ConfigMap`);
    }
  }
}

// 4. Every Qcash service: its Service, ServiceAccount (no token), budget, autoscaler, policy,
//    config, and native gRPC probes for the gRPC ones.
const byKind = (kind) => objects.filter((o) => o.kind === kind);
const named = (kind, name) => byKind(kind).find((o) => o.metadata?.name === name);
const qcash = byKind('Deployment').filter(
  (d) => d.metadata?.labels?.['app.kubernetes.io/part-of'] === 'qcash');
const GRPC = { wallet: 50051, payment: 50052, points: 50053 };
for (const d of qcash) {
  const name = d.metadata.name;
  const app = d.spec?.template?.metadata?.labels?.['app.kubernetes.io/name'];
  for (const kind of ['Service', 'ServiceAccount', 'PodDisruptionBudget', 'HorizontalPodAutoscaler',
                      'NetworkPolicy']) {
    if (!named(kind, name)) problem(d, `no ${kind} ${name}`);
  }
  const sa = named('ServiceAccount', name);
  if (sa && sa.automountServiceAccountToken !== false) problem(sa, 'mounts its API token');
  if (d.spec?.template?.spec?.automountServiceAccountToken !== false) {
    problem(d, 'the pod mounts a service-account token');
  }
  const policy = byKind('NetworkPolicy').find(
    (p) => p.spec?.podSelector?.matchLabels?.['app.kubernetes.io/name'] === app);
  if (!policy) problem(d, 'no NetworkPolicy selects its pods');
  // SIGTERM: the not-ready delay, then the drain; the kubelet must not SIGKILL before both end.
  const settings = {};
  for (const from of d.spec?.template?.spec?.containers?.[0]?.envFrom ?? []) {
    Object.assign(settings, named('ConfigMap', from.configMapRef?.name)?.data ?? {});
  }
  const shutdownMs = Number(settings.QCASH_UNREADY_DELAY_MS ?? 0) +
                     Number(settings.QCASH_DRAIN_TIMEOUT_MS ?? 10000);
  const graceS = d.spec?.template?.spec?.terminationGracePeriodSeconds ?? 30;
  if (!(graceS * 1000 > shutdownMs)) {
    problem(d, `terminationGracePeriodSeconds ${graceS} is shorter than the not-ready delay ` +
               `plus the drain timeout (${shutdownMs} ms)`);
  }
  if (d.spec?.strategy?.rollingUpdate?.maxUnavailable !== 0) {
    problem(d, 'rolling updates may take a ready pod away first (maxUnavailable is not 0)');
  }
  if (GRPC[name]) {
    const main = d.spec.template.spec.containers[0];
    if (!main.readinessProbe?.grpc || !main.livenessProbe?.grpc) {
      problem(d, 'gRPC service without native gRPC probes');
    }
    if (main.livenessProbe?.grpc?.service !== 'liveness') {
      problem(d, 'liveness must ask for the "liveness" health service, which stays SERVING while draining');
    }
  }
}
if (!byKind('NetworkPolicy').some((p) => Object.keys(p.spec?.podSelector ?? {}).length === 0 ||
                                         Object.keys(p.spec?.podSelector?.matchLabels ?? {}).length === 0 &&
                                         !p.spec?.podSelector?.matchExpressions)) {
  problems.push('no default-deny NetworkPolicy');
}
// Egress (issue 10): the namespace denies all egress by default, and each Qcash service's own
// policy lets out only what it needs, never "anywhere" inside the cluster.
const isDefaultDenyEgress = (p) =>
  Object.keys(p.spec?.podSelector?.matchLabels ?? {}).length === 0 &&
  !p.spec?.podSelector?.matchExpressions &&
  (p.spec?.policyTypes ?? []).includes('Egress') && (p.spec?.egress ?? []).length === 0;
if (!byKind('NetworkPolicy').some(isDefaultDenyEgress)) {
  problems.push('no default-deny egress NetworkPolicy');
}
const PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16'];
for (const p of byKind('NetworkPolicy')) {
  for (const rule of p.spec?.egress ?? []) {
    if (!rule.to || rule.to.length === 0) problem(p, 'an egress rule lets out to anywhere');
    if (!rule.ports || rule.ports.length === 0) problem(p, 'an egress rule allows every port');
    for (const to of rule.to ?? []) {
      if (to.ipBlock && /\/0$/.test(to.ipBlock.cidr) &&
          !PRIVATE.every((range) => (to.ipBlock.except ?? []).includes(range))) {
        problem(p, `egress to ${to.ipBlock.cidr} does not exclude the private ranges`);
      }
    }
  }
}
for (const d of qcash) {
  const policy = named('NetworkPolicy', d.metadata.name);  // the service's own policy
  if (!policy) continue;
  if (!(policy.spec?.policyTypes ?? []).includes('Egress')) {
    problem(policy, 'does not govern egress');
  }
  const dns = (policy.spec?.egress ?? []).some((rule) => (rule.ports ?? []).some((x) => x.port === 53));
  if (!dns) problem(policy, 'no DNS egress (the service could not resolve its dependencies)');
}

// The wallet is reached only by its callers (DESIGN.md section 2).
const walletPolicy = named('NetworkPolicy', 'wallet');
if (walletPolicy) {
  const sources = (walletPolicy.spec.ingress ?? [])
    .filter((rule) => (rule.ports ?? []).some((p) => p.port === GRPC.wallet))
    .flatMap((rule) => rule.from ?? []);
  const pods = sources.map((s) => s.podSelector?.matchLabels?.['app.kubernetes.io/name']).filter(Boolean);
  const namespaces = sources.map((s) => s.namespaceSelector?.matchLabels?.['qcash.io/caller']).filter(Boolean);
  const expectPods = ['gateway', 'payment', 'points', 'qcashctl'];
  if (JSON.stringify([...pods].sort()) !== JSON.stringify(expectPods)) {
    problem(walletPolicy, `wallet reachable from pods ${pods.join(', ')}; expected ${expectPods.join(', ')}`);
  }
  if (!namespaces.includes('adbooking')) problem(walletPolicy, 'the ad-booking namespace cannot reach the wallet');
  if (sources.some((s) => !s.podSelector && !s.namespaceSelector)) {
    problem(walletPolicy, 'a rule lets anyone in');
  }
}
// Services that use no Redis cannot reach one (DESIGN.md section 7): the payment service's
// Q-sign lock is in PostgreSQL alone, so no policy lets its pods out to a Redis port or into a
// Redis, and neither its config nor its pods name a Redis user or secret.
const REDIS_PORT = 6379;
const NO_REDIS = ['payment', 'points'];
const selectorSelects = (selector, app) => {
  const labels = selector?.matchLabels ?? {};
  const expressions = selector?.matchExpressions ?? [];
  if (Object.keys(labels).length === 0 && expressions.length === 0) return true;  // every pod
  if (labels['app.kubernetes.io/name'] !== undefined && labels['app.kubernetes.io/name'] !== app) {
    return false;
  }
  return expressions.every((e) => e.key !== 'app.kubernetes.io/name' ||
                                  (e.operator === 'In' && (e.values ?? []).includes(app)));
};
// Whether a label selector selects pods labelled `labels` (Kubernetes' rules).
const selectsLabels = (selector, labels) =>
  Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v) &&
  (selector?.matchExpressions ?? []).every((e) => {
    if (e.operator === 'In') return (e.values ?? []).includes(labels[e.key]);
    if (e.operator === 'NotIn') return !(e.values ?? []).includes(labels[e.key]);
    if (e.operator === 'Exists') return labels[e.key] !== undefined;
    return labels[e.key] === undefined;  // DoesNotExist
  });
const hasPort = (rule, port) => (rule.ports ?? []).some((x) => x.port === port);
for (const app of NO_REDIS) {
  for (const p of byKind('NetworkPolicy')) {
    if (selectorSelects(p.spec?.podSelector, app) &&
        (p.spec?.egress ?? []).some((rule) => hasPort(rule, REDIS_PORT))) {
      problem(p, `${app} may reach Redis (it uses none)`);
    }
    const fromApp = (p.spec?.ingress ?? []).some((rule) => hasPort(rule, REDIS_PORT) &&
      (rule.from ?? []).some((f) => f.podSelector?.matchLabels?.['app.kubernetes.io/name'] === app));
    if (fromApp) problem(p, `lets ${app} into Redis (it uses none)`);
  }
  const config = named('ConfigMap', `${app}-config`);
  for (const key of Object.keys(config?.data ?? {})) {
    if (/^QCASH_REDIS_/.test(key)) problem(config, `${key}: ${app} uses no Redis`);
  }
  for (const d of qcash.filter((x) => x.metadata.name === app)) {
    for (const v of d.spec?.template?.spec?.volumes ?? []) {
      if (/redis/.test(v.secret?.secretName ?? '')) {
        problem(d, `mounts the secret ${v.secret.secretName}: ${app} uses no Redis`);
      }
    }
  }
}
if (qcash.length > 0 && !byKind('Ingress').some((i) => i.metadata?.name === 'gateway')) {
  problems.push('no Ingress for the gateway');
}

// 5. Production: highly available, nothing development-only.
if (overlay === 'prod') {
  for (const d of qcash) {
    if ((d.spec?.replicas ?? 1) < 2) problem(d, 'fewer than 2 replicas');
    const anti = d.spec?.template?.spec?.affinity?.podAntiAffinity;
    if (!anti?.requiredDuringSchedulingIgnoredDuringExecution?.length &&
        !anti?.preferredDuringSchedulingIgnoredDuringExecution?.length) {
      problem(d, 'no pod anti-affinity');
    }
    for (const c of d.spec.template.spec.containers) {
      for (const e of c.env ?? []) {
        if (e.name === 'QCASH_GATEWAY_DEV_LOGIN' || e.name === 'QCASH_INSECURE_DEV') {
          problem(d, `${e.name} in production`);
        }
      }
    }
  }
  for (const h of byKind('HorizontalPodAutoscaler')) {
    if ((h.spec?.minReplicas ?? 1) < 2) problem(h, 'minReplicas below 2');
  }
  for (const o of objects) {
    const name = o.metadata?.name ?? '';
    if (/sandbox|postgres|redis/.test(name) && WORKLOADS.includes(o.kind)) {
      problem(o, 'development-only workload in production (PostgreSQL and Redis are external)');
    }
  }
  for (const cm of byKind('ConfigMap')) {
    if (cm.data?.QCASH_INSECURE_DEV === '1' || cm.data?.QCASH_GATEWAY_DEV_LOGIN === '1') {
      problem(cm, 'development switch in production');
    }
  }
}

// 6. Databases run by CloudNativePG: every Cluster (in any overlay) keeps its data on more than
//    one node before a commit returns, is backed up, and is watched.
const isSecretRef = (ref) => ref && typeof ref === 'object' && typeof ref.name === 'string' &&
                             typeof ref.key === 'string' && Object.keys(ref).length === 2;
for (const cluster of byKind('Cluster')) {
  const spec = cluster.spec ?? {};
  const name = cluster.metadata?.name;
  checkKeys(cluster, 'spec', spec, 'clusterSpec');
  if (!(spec.instances >= 3)) problem(cluster, `${spec.instances ?? 1} instance(s); at least 3 (a primary and two standbys)`);
  const sync = spec.postgresql?.synchronous;
  if (!(sync?.number >= 1 || spec.minSyncReplicas >= 1)) {
    problem(cluster, 'no synchronous replicas: a failover could lose acknowledged commits');
  }
  const store = spec.backup?.barmanObjectStore;
  if (!store) {
    problem(cluster, 'no backup (spec.backup.barmanObjectStore)');
  } else {
    if (!store.destinationPath) problem(cluster, 'the backup has no destinationPath');
    const credentials = ['s3Credentials', 'azureCredentials', 'googleCredentials']
      .filter((k) => store[k]);
    if (credentials.length === 0) problem(cluster, 'the backup names no object-store credentials');
    for (const k of credentials) {
      for (const [field, ref] of Object.entries(store[k])) {
        if (['inheritFromIAMRole', 'inheritFromAzureAD', 'gkeEnvironment'].includes(field)) continue;
        if (!isSecretRef(ref)) problem(cluster, `backup ${k}.${field} is not a reference to a Secret`);
      }
    }
    if (!spec.backup.retentionPolicy) problem(cluster, 'the backup has no retentionPolicy');
  }
  if (!byKind('ScheduledBackup').some((b) => b.spec?.cluster?.name === name)) {
    problem(cluster, 'no ScheduledBackup (only the WAL archive, no base backups)');
  }
  for (const kind of ['requests', 'limits']) {
    for (const resource of ['cpu', 'memory']) {
      if (spec.resources?.[kind]?.[resource] === undefined) problem(cluster, `no resources.${kind}.${resource}`);
    }
  }
  if (spec.affinity?.enablePodAntiAffinity === false || spec.affinity?.podAntiAffinityType !== 'required') {
    problem(cluster, 'instances may share a node (affinity.podAntiAffinityType is not required)');
  }
  if (spec.monitoring?.enablePodMonitor !== true) problem(cluster, 'not scraped (monitoring.enablePodMonitor)');
  // A release runs exactly what was tested: the PostgreSQL image by digest too.
  if (release && !/@sha256:[0-9a-f]{64}$/.test(spec.imageName ?? '')) {
    problem(cluster, `image ${spec.imageName ?? '(the operator default)'} is not pinned by digest`);
  }
}
for (const b of byKind('ScheduledBackup')) {
  if (!byKind('Cluster').some((c) => c.metadata?.name === b.spec?.cluster?.name)) {
    problem(b, `backs up ${b.spec?.cluster?.name}, which is not rendered`);
  }
}
for (const rule of byKind('PrometheusRule')) {
  for (const group of rule.spec?.groups ?? []) {
    for (const r of group.rules ?? []) checkKeys(rule, `rule ${r.alert ?? r.record}`, r, 'alertingRule');
  }
}

// 7. Production: every service's database is a CloudNativePG Cluster reached through its
//    read-write service; every service is scraped; every alert of docs/OPERATIONS.md is a rule.
if (overlay === 'prod') {
  for (const d of qcash) {
    const main = d.spec?.template?.spec?.containers?.[0];
    // The services with a database of their own (GRPC above: wallet, payment, points).
    const urlName = `QCASH_${d.metadata.name.toUpperCase()}_DATABASE_URL`;
    if (GRPC[d.metadata.name] && !(main?.env ?? []).some((x) => x.name === urlName)) {
      problem(d, `no ${urlName}`);
    }
    for (const e of (main?.env ?? []).filter((x) => /^QCASH_\w+_DATABASE_URL$/.test(x.name))) {
      let url;
      try {
        url = new URL(e.value);
      } catch {
        problem(d, `${e.name} is not a URL naming its database (it must name a CloudNativePG read-write service)`);
        continue;
      }
      const host = url.hostname.split('.')[0];
      const cluster = byKind('Cluster').find((c) => `${c.metadata?.name}-rw` === host);
      if (!cluster) {
        problem(d, `${e.name} points at ${url.hostname}, not the read-write service of a rendered CloudNativePG Cluster`);
        continue;
      }
      const database = decodeURIComponent(url.pathname.slice(1));
      if (cluster.spec?.bootstrap?.initdb?.database !== database) {
        problem(d, `${e.name} names database ${database}; ${cluster.metadata.name} makes ${cluster.spec?.bootstrap?.initdb?.database}`);
      }
      if (url.password) problem(d, `${e.name} carries a password`);
      // The namespace denies everything by default: the service must be let out to its
      // cluster's pods, and they must let it in.
      const app = d.spec?.template?.metadata?.labels?.['app.kubernetes.io/name'];
      const clusterPods = { 'cnpg.io/cluster': cluster.metadata.name };
      const reaches = (peer) => Object.entries(peer.podSelector?.matchLabels ?? {}).length > 0 &&
        !peer.namespaceSelector &&
        Object.entries(peer.podSelector.matchLabels).every(([k, v]) => clusterPods[k] === v);
      const podLabels = d.spec?.template?.metadata?.labels ?? {};
      const out = byKind('NetworkPolicy').some((p) => selectsLabels(p.spec?.podSelector, podLabels) &&
        (p.spec?.egress ?? []).some((rule) => hasPort(rule, 5432) && (rule.to ?? []).some(reaches)));
      if (!out) problem(d, `no NetworkPolicy lets it out to ${cluster.metadata.name}'s pods on 5432`);
      const into = byKind('NetworkPolicy').some((p) =>
        p.spec?.podSelector?.matchLabels?.['cnpg.io/cluster'] === cluster.metadata.name &&
        (p.spec?.ingress ?? []).some((rule) => hasPort(rule, 5432) && (rule.from ?? []).some(
          (f) => f.podSelector?.matchLabels?.['app.kubernetes.io/name'] === app && !f.namespaceSelector)));
      if (!into) problem(d, `no NetworkPolicy lets it into ${cluster.metadata.name}'s pods on 5432`);
      if (url.searchParams.get('sslmode') !== 'verify-full') problem(d, `${e.name}: sslmode is not verify-full`);
    }
    // Scraped: a ServiceMonitor selects the service's Service and names its metrics port.
    const service = named('Service', d.metadata.name);
    const monitored = byKind('ServiceMonitor').some((m) =>
      service && Object.entries(m.spec?.selector?.matchLabels ?? {}).every(
        ([k, v]) => service.metadata?.labels?.[k] === v) &&
      Object.keys(m.spec?.selector?.matchLabels ?? {}).length > 0 &&
      (m.spec?.endpoints ?? []).some((ep) => (service.spec?.ports ?? []).some(
        (p) => p.name === ep.port && p.name === 'metrics')));
    if (!monitored) problem(d, 'no ServiceMonitor scrapes its Service\'s metrics port');
  }
  // The alerts: docs/OPERATIONS.md's table (alert | expression | means | do) against the rules.
  const alerts = documentedAlerts();
  if (alerts.length === 0) problems.push('docs/OPERATIONS.md: no alert table found');
  const rules = byKind('PrometheusRule').flatMap((o) =>
    (o.spec?.groups ?? []).flatMap((g) => (g.rules ?? []).filter((r) => r.alert)));
  for (const a of alerts) {
    const matching = rules.filter((r) => r.alert === a.alert);
    if (matching.length !== 1) {
      problems.push(`alert ${a.alert} of docs/OPERATIONS.md has ${matching.length === 0 ? 'no' : matching.length} PrometheusRule rule(s)`);
      continue;
    }
    const [r] = matching;
    if (r.expr !== a.expr) problems.push(`alert ${a.alert}: the rule's expression differs from docs/OPERATIONS.md (${r.expr} vs ${a.expr})`);
    if ((r.for ?? '') !== a.for) problems.push(`alert ${a.alert}: for "${r.for ?? ''}" vs "${a.for}" in docs/OPERATIONS.md`);
    const severity = a.page ? 'page' : 'ticket';
    if (r.labels?.severity !== severity) problems.push(`alert ${a.alert}: severity ${r.labels?.severity} vs ${severity} in docs/OPERATIONS.md`);
  }
  for (const r of rules) {
    if (!alerts.some((a) => a.alert === r.alert)) problems.push(`alert ${r.alert} is not in docs/OPERATIONS.md`);
  }
}

// docs/OPERATIONS.md, "Metrics and alerts": one row an alert, `| name | \`expr\` [for N m] |
// means | do |`; "do" starting with "page" pages. A | inside backticks is PromQL, not a cell.
function documentedAlerts() {
  const doc = readFileSync(new URL('../../docs/OPERATIONS.md', import.meta.url), 'utf8');
  const start = doc.indexOf('## Metrics and alerts');
  if (start < 0) return [];
  const end = doc.indexOf('\n## ', start + 1);
  const cells = (line) => {
    const out = [];
    let cell = '';
    let code = false;
    for (const ch of line.trim().slice(1, -1)) {
      if (ch === '`') code = !code;
      if (ch === '|' && !code) {
        out.push(cell.trim());
        cell = '';
      } else {
        cell += ch;
      }
    }
    out.push(cell.trim());
    return out;
  };
  return doc.slice(start, end < 0 ? undefined : end).split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| alert ') && !l.startsWith('|---'))
    .map(cells)
    .map(([alert, expression, , action]) => {
      const duration = /\bfor (\d+) ?(ms|s|m|h|d)\b/.exec(expression.replace(/`[^`]*`/g, ''));
      return {
        alert,
        expr: /`([^`]*)`/.exec(expression)?.[1],
        for: duration ? `${duration[1]}${duration[2]}` : '',
        page: /^page\b/.test(action ?? ''),
      };
    });
}

if (problems.length > 0) {
  console.log(`${overlay}: ${problems.length} problem(s)`);
  for (const p of problems) console.log(`  - ${p}`);
  process.exit(1);
}
console.log(`${overlay}: ${objects.length} objects valid against the Kubernetes schemas and the rules`);
