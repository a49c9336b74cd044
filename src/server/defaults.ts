/**
 * Defaulting of built-in kinds, as kube-apiserver's SetDefaults_* functions fill in what a client
 * left out (k8s.io/kubernetes pkg/apis/{core,apps,batch}/v1/defaults.go), so that a stored object,
 * and the Table kubectl prints from it, are what kube would store: a Secret's type Opaque, a
 * Service's type ClusterIP, a port's protocol TCP, a Deployment's rollout strategy, a container's
 * imagePullPolicy. Only fields that are absent are set; a field of the wrong type is left to
 * validation, which runs first.
 *
 * Not done here (kube does them in admission plugins or allocators, not defaulting): a Service's
 * cluster IP and IP families, a pod's service account, priority and tolerations, and a Job's
 * generated selector and labels.
 */
import { isJsonObject, type JsonObject } from './body.js';
import type { ResourceDefinition } from './registry.js';

/** Sets `object[key]` to `value` when the key is absent. */
function fill(object: JsonObject, key: string, value: unknown): void {
  if (!Object.hasOwn(object, key) || object[key] === null) object[key] = value;
}

/** `object[key]` when it is an object; with `create`, an empty object put there when absent. */
function child(object: JsonObject, key: string, create = false): JsonObject | undefined {
  const value = object[key];
  if (isJsonObject(value)) return value;
  if (!create || (value !== undefined && value !== null)) return undefined;
  const made: JsonObject = {};
  object[key] = made;
  return made;
}

function eachObject(list: unknown, visit: (item: JsonObject) => void): void {
  if (!Array.isArray(list)) return;
  for (const item of list) if (isJsonObject(item)) visit(item);
}

/**
 * kube's image pull policy default: Always for the `latest` tag (also when no tag and no digest
 * is given), IfNotPresent otherwise (SetDefaults_Container with parsers.ParseImageName).
 */
function pullPolicy(image: unknown): string {
  if (typeof image !== 'string') return 'IfNotPresent';
  if (image.includes('@')) return 'IfNotPresent';
  const lastSlash = image.lastIndexOf('/');
  const colon = image.indexOf(':', lastSlash + 1);
  const tag = colon < 0 ? 'latest' : image.slice(colon + 1);
  return tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultContainer(container: JsonObject): void {
  fill(container, 'terminationMessagePath', '/dev/termination-log');
  fill(container, 'terminationMessagePolicy', 'File');
  fill(container, 'imagePullPolicy', pullPolicy(container.image));
  eachObject(container.ports, (port) => fill(port, 'protocol', 'TCP'));
}

/** SetDefaults_PodSpec and the containers' defaults: for pods and every pod template. */
function defaultPodSpec(spec: JsonObject): void {
  fill(spec, 'restartPolicy', 'Always');
  fill(spec, 'dnsPolicy', 'ClusterFirst');
  fill(spec, 'schedulerName', 'default-scheduler');
  fill(spec, 'terminationGracePeriodSeconds', 30);
  fill(spec, 'securityContext', {});
  eachObject(spec.containers, defaultContainer);
  eachObject(spec.initContainers, defaultContainer);
}

function defaultTemplate(spec: JsonObject | undefined): void {
  const podSpec = spec === undefined ? undefined : child(child(spec, 'template') ?? {}, 'spec');
  if (podSpec !== undefined) defaultPodSpec(podSpec);
}

/** SetDefaults_Pod: the pod spec, service links, and requests taken from limits where absent. */
function defaultPod(pod: JsonObject): void {
  const spec = child(pod, 'spec');
  if (spec === undefined) return;
  defaultPodSpec(spec);
  fill(spec, 'enableServiceLinks', true);
  const requestsFromLimits = (container: JsonObject): void => {
    const resources = child(container, 'resources');
    const limits = resources === undefined ? undefined : child(resources, 'limits');
    if (resources === undefined || limits === undefined) return;
    const requests = child(resources, 'requests', true)!;
    for (const name of Object.keys(limits)) fill(requests, name, limits[name]);
  };
  eachObject(spec.containers, requestsFromLimits);
  eachObject(spec.initContainers, requestsFromLimits);
}

function defaultService(service: JsonObject): void {
  const spec = child(service, 'spec');
  if (spec === undefined) return;
  fill(spec, 'type', 'ClusterIP');
  fill(spec, 'sessionAffinity', 'None');
  if (spec.type !== 'ExternalName') fill(spec, 'internalTrafficPolicy', 'Cluster');
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') fill(spec, 'externalTrafficPolicy', 'Cluster');
  eachObject(spec.ports, (port) => {
    fill(port, 'protocol', 'TCP');
    if (port.port !== undefined) fill(port, 'targetPort', port.port);
  });
}

/** A workload's update strategy: RollingUpdate unless given, with `rolling` filled in when it is one. */
function defaultStrategy(spec: JsonObject, field: string, rolling: Readonly<Record<string, unknown>>): void {
  const strategy = child(spec, field, true);
  if (strategy === undefined) return;
  fill(strategy, 'type', 'RollingUpdate');
  if (strategy.type !== 'RollingUpdate') return;
  const update = child(strategy, 'rollingUpdate', true);
  if (update !== undefined) for (const [key, value] of Object.entries(rolling)) fill(update, key, value);
}

function defaultDeployment(deployment: JsonObject): void {
  const spec = child(deployment, 'spec');
  if (spec === undefined) return;
  fill(spec, 'replicas', 1);
  defaultStrategy(spec, 'strategy', { maxUnavailable: '25%', maxSurge: '25%' });
  fill(spec, 'revisionHistoryLimit', 10);
  fill(spec, 'progressDeadlineSeconds', 600);
  defaultTemplate(spec);
}

function defaultStatefulSet(set: JsonObject): void {
  const spec = child(set, 'spec');
  if (spec === undefined) return;
  fill(spec, 'replicas', 1);
  fill(spec, 'podManagementPolicy', 'OrderedReady');
  defaultStrategy(spec, 'updateStrategy', { partition: 0 });
  fill(spec, 'revisionHistoryLimit', 10);
  defaultTemplate(spec);
}

function defaultDaemonSet(set: JsonObject): void {
  const spec = child(set, 'spec');
  if (spec === undefined) return;
  defaultStrategy(spec, 'updateStrategy', { maxUnavailable: 1, maxSurge: 0 });
  fill(spec, 'revisionHistoryLimit', 10);
  defaultTemplate(spec);
}

function defaultReplicaSet(set: JsonObject): void {
  const spec = child(set, 'spec');
  if (spec === undefined) return;
  fill(spec, 'replicas', 1);
  defaultTemplate(spec);
}

function defaultJob(job: JsonObject): void {
  const spec = child(job, 'spec');
  if (spec === undefined) return;
  if (spec.completions === undefined && spec.parallelism === undefined) spec.completions = 1;
  fill(spec, 'parallelism', 1);
  fill(spec, 'backoffLimit', 6);
  fill(spec, 'completionMode', 'NonIndexed');
  fill(spec, 'suspend', false);
  defaultTemplate(spec);
}

function defaultCronJob(cronJob: JsonObject): void {
  const spec = child(cronJob, 'spec');
  if (spec === undefined) return;
  fill(spec, 'concurrencyPolicy', 'Allow');
  fill(spec, 'suspend', false);
  fill(spec, 'successfulJobsHistoryLimit', 3);
  fill(spec, 'failedJobsHistoryLimit', 1);
  defaultTemplate(child(child(spec, 'jobTemplate') ?? {}, 'spec'));
}

const DEFAULTERS: Readonly<Record<string, (object: JsonObject) => void>> = {
  '/Pod': defaultPod,
  '/Service': defaultService,
  '/Secret': (secret) => fill(secret, 'type', 'Opaque'),
  '/PersistentVolume': (pv) => {
    const spec = child(pv, 'spec');
    if (spec === undefined) return;
    fill(spec, 'persistentVolumeReclaimPolicy', 'Retain');
    fill(spec, 'volumeMode', 'Filesystem');
  },
  '/PersistentVolumeClaim': (pvc) => {
    const spec = child(pvc, 'spec');
    if (spec !== undefined) fill(spec, 'volumeMode', 'Filesystem');
  },
  'apps/Deployment': defaultDeployment,
  'apps/ReplicaSet': defaultReplicaSet,
  'apps/StatefulSet': defaultStatefulSet,
  'apps/DaemonSet': defaultDaemonSet,
  'batch/Job': defaultJob,
  'batch/CronJob': defaultCronJob,
};

/** Fills in kube's defaults of a built-in kind, in place; other kinds are left as they are. */
export function applyDefaults(def: ResourceDefinition, object: JsonObject): void {
  if (def.group !== '' && def.group !== 'apps' && def.group !== 'batch') return;
  DEFAULTERS[`${def.group}/${def.kind}`]?.(object);
}
