/**
 * The printers of the built-in kinds, by group and kind, with the columns and cell rules of kube's
 * printers (pkg/printers/internalversion/printers.go). kube-apiserver always fills the wide
 * columns (priority 1); kubectl shows them with `-o wide`.
 *
 * Why one file of ~560 lines: it is data, one printer per kind, read as a table (pods, the
 * largest, live in pod.ts).
 */
import { humanDuration, parseTimestamp, since } from './duration.js';
import { arr, has, isObject, num, obj, str, type JsonObject } from './json.js';
import { POD_PRINTER } from './pod.js';
import { AGE, ageOf, column, NAME, nameOf, type Printer } from './printer.js';

const NODE_ROLE_PREFIX = 'node-role.kubernetes.io/';
const NODE_ROLE_LABEL = 'kubernetes.io/role';

function orNone(value: string): string {
  return value === '' ? '<none>' : value;
}

function orUnset(value: string): string {
  return value === '' ? '<unset>' : value;
}

/** labels.FormatLabels: `k=v,...` sorted by key; "<none>" when empty. */
function formatLabels(labels: JsonObject): string {
  const keys = Object.keys(labels).sort();
  return keys.length === 0 ? '<none>' : keys.map((k) => `${k}=${String(labels[k])}`).join(',');
}

/**
 * metav1.FormatLabelSelector: the selector as labels.Selector prints it, every requirement
 * (match labels and expressions together) sorted by key, values sorted; "<none>" when empty or
 * unset.
 */
export function formatLabelSelector(selector: unknown): string {
  if (!isObject(selector)) return '<none>';
  const parts: { key: string; text: string }[] = [];
  const labels = obj(selector, 'matchLabels');
  for (const k of Object.keys(labels)) parts.push({ key: k, text: `${k}=${String(labels[k])}` });
  for (const e of arr(selector, 'matchExpressions')) {
    const key = str(e, 'key');
    const values = arr(e, 'values').map(String).sort().join(',');
    switch (str(e, 'operator')) {
      case 'In':
        parts.push({ key, text: `${key} in (${values})` });
        break;
      case 'NotIn':
        parts.push({ key, text: `${key} notin (${values})` });
        break;
      case 'Exists':
        parts.push({ key, text: key });
        break;
      case 'DoesNotExist':
        parts.push({ key, text: `!${key}` });
        break;
    }
  }
  // A stable sort by key, as Go's sort.Sort(ByKey) in internalSelector.Add.
  parts.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return parts.length === 0 ? '<none>' : parts.map((p) => p.text).join(',');
}

/** The wide CONTAINERS and IMAGES cells of a workload's pod template. */
function containerCells(template: JsonObject): [string, string] {
  const containers = arr(obj(template, 'spec'), 'containers');
  return [containers.map((c) => str(c, 'name')).join(','), containers.map((c) => str(c, 'image')).join(',')];
}

const WIDE = { priority: 1 };
const INT = { type: 'integer' };
const CONTAINERS = { name: 'Containers', type: 'string', format: '', description: 'Names of each container in the template.', priority: 1 };
const IMAGES = { name: 'Images', type: 'string', format: '', description: 'Images referenced by each container in the template.', priority: 1 };
/** A workload's `ready/desired` pods column (Deployment, StatefulSet). */
const READY_PODS = { name: 'Ready', type: 'string', format: '', description: 'Number of the pod with ready state', priority: 0 };

// ---- core/v1 ------------------------------------------------------------------------------------

function nodeRoles(node: JsonObject): string {
  const roles = new Set<string>();
  const labels = obj(node, 'metadata', 'labels');
  for (const [key, value] of Object.entries(labels)) {
    if (key.startsWith(NODE_ROLE_PREFIX) && key.length > NODE_ROLE_PREFIX.length) roles.add(key.slice(NODE_ROLE_PREFIX.length));
    else if (key === NODE_ROLE_LABEL && typeof value === 'string' && value !== '') roles.add(value);
  }
  return orNone([...roles].sort().join(','));
}

function nodeAddress(node: JsonObject, type: string): string {
  const found = arr(obj(node, 'status'), 'addresses').find((a) => str(a, 'type') === type);
  return found === undefined ? '<none>' : str(found, 'address');
}

const NODE: Printer = {
  columns: [
    NAME,
    { name: 'Status', type: 'string', format: '', description: 'The status of the node', priority: 0 },
    { name: 'Roles', type: 'string', format: '', description: 'The roles of the node', priority: 0 },
    AGE,
    column('Version', 'NodeSystemInfo.kubeletVersion'),
    column('Internal-IP', 'NodeStatus.addresses', WIDE),
    column('External-IP', 'NodeStatus.addresses', WIDE),
    column('OS-Image', 'NodeSystemInfo.osImage', WIDE),
    column('Kernel-Version', 'NodeSystemInfo.kernelVersion', WIDE),
    column('Container-Runtime', 'NodeSystemInfo.containerRuntimeVersion', WIDE),
  ],
  row(node, now) {
    const status: string[] = [];
    const ready = arr(obj(node, 'status'), 'conditions').findLast((c) => str(c, 'type') === 'Ready');
    if (ready !== undefined) status.push(str(ready, 'status') === 'True' ? 'Ready' : 'NotReady');
    else status.push('Unknown');
    if (obj(node, 'spec').unschedulable === true) status.push('SchedulingDisabled');
    const info = obj(node, 'status', 'nodeInfo');
    const unknown = (v: string): string => (v === '' ? '<unknown>' : v);
    return {
      cells: [
        nameOf(node),
        status.join(','),
        nodeRoles(node),
        ageOf(node, now),
        str(info, 'kubeletVersion'),
        nodeAddress(node, 'InternalIP'),
        nodeAddress(node, 'ExternalIP'),
        unknown(str(info, 'osImage')),
        unknown(str(info, 'kernelVersion')),
        unknown(str(info, 'containerRuntimeVersion')),
      ],
    };
  },
};

const NAMESPACE: Printer = {
  columns: [NAME, { name: 'Status', type: 'string', format: '', description: 'The status of the namespace', priority: 0 }, AGE],
  row: (ns, now) => ({ cells: [nameOf(ns), str(obj(ns, 'status'), 'phase'), ageOf(ns, now)] }),
};

const CONFIG_MAP: Printer = {
  columns: [NAME, column('Data', 'ConfigMap.data', INT), AGE],
  row: (cm, now) => ({ cells: [nameOf(cm), Object.keys(obj(cm, 'data')).length + Object.keys(obj(cm, 'binaryData')).length, ageOf(cm, now)] }),
};

const SECRET: Printer = {
  columns: [NAME, column('Type', 'Secret.type'), column('Data', 'Secret.data', INT), AGE],
  row: (s, now) => ({ cells: [nameOf(s), str(s, 'type'), Object.keys(obj(s, 'data')).length, ageOf(s, now)] }),
};

const SERVICE_ACCOUNT: Printer = {
  columns: [NAME, column('Secrets', 'ServiceAccount.secrets', INT), AGE],
  row: (sa, now) => ({ cells: [nameOf(sa), arr(sa, 'secrets').length, ageOf(sa, now)] }),
};

function servicePorts(spec: JsonObject): string {
  const ports = arr(spec, 'ports').map((p) => {
    const protocol = str(p, 'protocol') || 'TCP';
    return num(p, 'nodePort') > 0 ? `${num(p, 'port')}:${num(p, 'nodePort')}/${protocol}` : `${num(p, 'port')}/${protocol}`;
  });
  return orNone(ports.join(','));
}

function serviceExternalIP(service: JsonObject): string {
  const spec = obj(service, 'spec');
  const external = arr(spec, 'externalIPs').map(String);
  switch (str(spec, 'type') || 'ClusterIP') {
    case 'ClusterIP':
    case 'NodePort':
      return external.length > 0 ? external.join(',') : '<none>';
    case 'LoadBalancer': {
      // Wide, as kube-apiserver prints it: the ingress points unabridged.
      const ingress = arr(obj(service, 'status', 'loadBalancer'), 'ingress')
        .map((i) => str(i, 'ip') || str(i, 'hostname'))
        .filter((s) => s !== '');
      const all = [...ingress, ...external];
      return all.length > 0 ? all.join(',') : '<pending>';
    }
    case 'ExternalName':
      return str(spec, 'externalName');
    default:
      return '<unknown>';
  }
}

const SERVICE: Printer = {
  columns: [
    NAME,
    column('Type', 'ServiceSpec.type'),
    column('Cluster-IP', 'ServiceSpec.clusterIP'),
    column('External-IP', 'ServiceSpec.externalIPs'),
    column('Port(s)', 'ServiceSpec.ports'),
    AGE,
    column('Selector', 'ServiceSpec.selector', WIDE),
  ],
  row(svc, now) {
    const spec = obj(svc, 'spec');
    const clusterIPs = arr(spec, 'clusterIPs');
    const clusterIP = clusterIPs.length > 0 ? String(clusterIPs[0]) : str(spec, 'clusterIP');
    return {
      cells: [nameOf(svc), str(spec, 'type') || 'ClusterIP', orNone(clusterIP), serviceExternalIP(svc), servicePorts(spec), ageOf(svc, now), formatLabels(obj(spec, 'selector'))],
    };
  },
};

/** At most three `ip:port` endpoints, then "+ N more...". */
export function formatEndpoints(endpoints: JsonObject): string {
  const subsets = arr(endpoints, 'subsets');
  if (subsets.length === 0) return '<none>';
  const max = 3;
  const list: string[] = [];
  let count = 0;
  for (const subset of subsets) {
    const addresses = arr(subset, 'addresses').map((a) => str(a, 'ip'));
    const ports = arr(subset, 'ports');
    // Headless services may have no ports.
    const targets = ports.length === 0 ? [undefined] : ports.map((p) => num(p, 'port'));
    for (const port of targets) {
      count += addresses.length;
      for (const ip of addresses) {
        if (list.length === max) break;
        list.push(port === undefined ? ip : ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
      }
    }
  }
  return count > max ? `${list.join(',')} + ${count - max} more...` : list.join(',');
}

const ENDPOINTS: Printer = {
  columns: [NAME, column('Endpoints', 'Endpoints.subsets'), AGE],
  row: (ep, now) => ({ cells: [nameOf(ep), formatEndpoints(ep), ageOf(ep, now)] }),
};

function eventSource(event: JsonObject): string {
  const source = obj(event, 'source');
  const component = str(source, 'component') || str(event, 'reportingComponent');
  const instance = str(source, 'host') || str(event, 'reportingInstance');
  return instance === '' ? component : `${component}, ${instance}`;
}

const EVENT: Printer = {
  columns: [
    column('Last Seen', 'Event.lastTimestamp'),
    column('Type', 'Event.type'),
    column('Reason', 'Event.reason'),
    column('Object', 'Event.involvedObject'),
    column('Subobject', 'ObjectReference.fieldPath', WIDE),
    column('Source', 'Event.source', WIDE),
    column('Message', 'Event.message'),
    column('First Seen', 'Event.firstTimestamp', WIDE),
    column('Count', 'Event.count', WIDE),
    { ...NAME, priority: 1 },
  ],
  row(event, now) {
    const first = has(event, 'firstTimestamp') ? since(event.firstTimestamp, now) : since(event.eventTime, now);
    let last = has(event, 'lastTimestamp') ? since(event.lastTimestamp, now) : first;
    let count = num(event, 'count');
    if (has(event, 'series')) {
      last = since(obj(event, 'series').lastObservedTime, now);
      count = num(obj(event, 'series'), 'count');
    } else if (count === 0) {
      count = 1;
    }
    const involved = obj(event, 'involvedObject');
    const kind = str(involved, 'kind').toLowerCase();
    const target = str(involved, 'name') === '' ? kind : `${kind}/${str(involved, 'name')}`;
    return {
      cells: [last, str(event, 'type'), str(event, 'reason'), target, str(involved, 'fieldPath'), eventSource(event), str(event, 'message').trim(), first, count, nameOf(event)],
    };
  },
};

/** helper.GetAccessModesAsString: RWO, ROX, RWX, RWOP in that order, each once. */
function accessModes(modes: unknown[]): string {
  const short: [string, string][] = [
    ['ReadWriteOnce', 'RWO'],
    ['ReadOnlyMany', 'ROX'],
    ['ReadWriteMany', 'RWX'],
    ['ReadWriteOncePod', 'RWOP'],
  ];
  return short
    .filter(([mode]) => modes.includes(mode))
    .map(([, s]) => s)
    .join(',');
}

const BETA_STORAGE_CLASS = 'volume.beta.kubernetes.io/storage-class';

function storageClass(object: JsonObject): string {
  const annotation = obj(object, 'metadata', 'annotations')[BETA_STORAGE_CLASS];
  return typeof annotation === 'string' ? annotation : str(obj(object, 'spec'), 'storageClassName');
}

function phaseOrTerminating(object: JsonObject): string {
  return has(obj(object, 'metadata'), 'deletionTimestamp') ? 'Terminating' : str(obj(object, 'status'), 'phase');
}

const PERSISTENT_VOLUME: Printer = {
  columns: [
    NAME,
    column('Capacity', 'PersistentVolumeSpec.capacity'),
    column('Access Modes', 'PersistentVolumeSpec.accessModes'),
    column('Reclaim Policy', 'PersistentVolumeSpec.persistentVolumeReclaimPolicy'),
    column('Status', 'PersistentVolumeStatus.phase'),
    column('Claim', 'PersistentVolumeSpec.claimRef'),
    column('StorageClass', 'PersistentVolumeSpec.storageClassName'),
    column('VolumeAttributesClass', 'PersistentVolumeSpec.volumeAttributesClassName'),
    column('Reason', 'PersistentVolumeStatus.reason'),
    AGE,
    column('VolumeMode', 'PersistentVolumeSpec.volumeMode', WIDE),
  ],
  row(pv, now) {
    const spec = obj(pv, 'spec');
    const claim = has(spec, 'claimRef') ? `${str(obj(spec, 'claimRef'), 'namespace')}/${str(obj(spec, 'claimRef'), 'name')}` : '';
    return {
      cells: [
        nameOf(pv),
        String(obj(spec, 'capacity').storage ?? ''),
        accessModes(arr(spec, 'accessModes')),
        str(spec, 'persistentVolumeReclaimPolicy'),
        phaseOrTerminating(pv),
        claim,
        storageClass(pv),
        orUnset(str(spec, 'volumeAttributesClassName')),
        str(obj(pv, 'status'), 'reason'),
        ageOf(pv, now),
        orUnset(str(spec, 'volumeMode')),
      ],
    };
  },
};

const PERSISTENT_VOLUME_CLAIM: Printer = {
  columns: [
    NAME,
    column('Status', 'PersistentVolumeClaimStatus.phase'),
    column('Volume', 'PersistentVolumeClaimSpec.volumeName'),
    column('Capacity', 'PersistentVolumeClaimStatus.capacity'),
    column('Access Modes', 'PersistentVolumeClaimSpec.accessModes'),
    column('StorageClass', 'PersistentVolumeClaimSpec.storageClassName'),
    column('VolumeAttributesClass', 'PersistentVolumeClaimSpec.volumeAttributesClassName'),
    AGE,
    column('VolumeMode', 'PersistentVolumeClaimSpec.volumeMode', WIDE),
  ],
  row(pvc, now) {
    const spec = obj(pvc, 'spec');
    const status = obj(pvc, 'status');
    const bound = str(spec, 'volumeName') !== '';
    return {
      cells: [
        nameOf(pvc),
        phaseOrTerminating(pvc),
        str(spec, 'volumeName'),
        bound ? String(obj(status, 'capacity').storage ?? '') : '',
        bound ? accessModes(arr(status, 'accessModes')) : '',
        storageClass(pvc),
        orUnset(str(status, 'currentVolumeAttributesClassName')),
        ageOf(pvc, now),
        orUnset(str(spec, 'volumeMode')),
      ],
    };
  },
};

// ---- apps/v1 and batch/v1 ------------------------------------------------------------------------

function template(workload: JsonObject): JsonObject {
  return obj(workload, 'spec', 'template');
}

const DEPLOYMENT: Printer = {
  columns: [
    NAME,
    READY_PODS,
    column('Up-to-date', 'DeploymentStatus.updatedReplicas', INT),
    column('Available', 'DeploymentStatus.availableReplicas', INT),
    AGE,
    CONTAINERS,
    IMAGES,
    column('Selector', 'DeploymentSpec.selector', WIDE),
  ],
  row(d, now) {
    const spec = obj(d, 'spec');
    const status = obj(d, 'status');
    return {
      cells: [
        nameOf(d),
        `${num(status, 'readyReplicas')}/${num(spec, 'replicas')}`,
        num(status, 'updatedReplicas'),
        num(status, 'availableReplicas'),
        ageOf(d, now),
        ...containerCells(template(d)),
        formatLabelSelector(spec.selector),
      ],
    };
  },
};

const REPLICA_SET: Printer = {
  columns: [
    NAME,
    column('Desired', 'ReplicaSetSpec.replicas', INT),
    column('Current', 'ReplicaSetStatus.replicas', INT),
    column('Ready', 'ReplicaSetStatus.readyReplicas', INT),
    AGE,
    CONTAINERS,
    IMAGES,
    column('Selector', 'ReplicaSetSpec.selector', WIDE),
  ],
  row(rs, now) {
    const spec = obj(rs, 'spec');
    const status = obj(rs, 'status');
    return {
      cells: [nameOf(rs), num(spec, 'replicas'), num(status, 'replicas'), num(status, 'readyReplicas'), ageOf(rs, now), ...containerCells(template(rs)), formatLabelSelector(spec.selector)],
    };
  },
};

const STATEFUL_SET: Printer = {
  columns: [NAME, READY_PODS, AGE, CONTAINERS, IMAGES],
  row(ss, now) {
    return {
      cells: [nameOf(ss), `${num(obj(ss, 'status'), 'readyReplicas')}/${num(obj(ss, 'spec'), 'replicas')}`, ageOf(ss, now), ...containerCells(template(ss))],
    };
  },
};

const DAEMON_SET: Printer = {
  columns: [
    NAME,
    column('Desired', 'DaemonSetStatus.desiredNumberScheduled', INT),
    column('Current', 'DaemonSetStatus.currentNumberScheduled', INT),
    column('Ready', 'DaemonSetStatus.numberReady', INT),
    column('Up-to-date', 'DaemonSetStatus.updatedNumberScheduled', INT),
    column('Available', 'DaemonSetStatus.numberAvailable', INT),
    column('Node Selector', 'PodSpec.nodeSelector'),
    AGE,
    CONTAINERS,
    IMAGES,
    column('Selector', 'DaemonSetSpec.selector', WIDE),
  ],
  row(ds, now) {
    const status = obj(ds, 'status');
    return {
      cells: [
        nameOf(ds),
        num(status, 'desiredNumberScheduled'),
        num(status, 'currentNumberScheduled'),
        num(status, 'numberReady'),
        num(status, 'updatedNumberScheduled'),
        num(status, 'numberAvailable'),
        formatLabels(obj(template(ds), 'spec', 'nodeSelector')),
        ageOf(ds, now),
        ...containerCells(template(ds)),
        formatLabelSelector(obj(ds, 'spec').selector),
      ],
    };
  },
};

function jobStatus(job: JsonObject): string {
  const conditions = arr(obj(job, 'status'), 'conditions');
  const holds = (type: string): boolean => conditions.some((c) => str(c, 'type') === type && str(c, 'status') === 'True');
  if (holds('Complete')) return 'Complete';
  if (holds('Failed')) return 'Failed';
  if (has(obj(job, 'metadata'), 'deletionTimestamp')) return 'Terminating';
  if (holds('Suspended')) return 'Suspended';
  if (holds('FailureTarget')) return 'FailureTarget';
  if (holds('SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  return 'Running';
}

const JOB: Printer = {
  columns: [
    NAME,
    { name: 'Status', type: 'string', format: '', description: 'Status of the job.', priority: 0 },
    column('Completions', 'JobSpec.completions'),
    { name: 'Duration', type: 'string', format: '', description: 'Time required to complete the job.', priority: 0 },
    AGE,
    CONTAINERS,
    IMAGES,
    column('Selector', 'JobSpec.selector', WIDE),
  ],
  row(job, now) {
    const spec = obj(job, 'spec');
    const status = obj(job, 'status');
    const succeeded = num(status, 'succeeded');
    let completions: string;
    if (has(spec, 'completions')) completions = `${succeeded}/${num(spec, 'completions')}`;
    else if (has(spec, 'parallelism') && num(spec, 'parallelism') > 1) completions = `${succeeded}/1 of ${num(spec, 'parallelism')}`;
    else completions = `${succeeded}/1`;
    const started = parseTimestamp(status.startTime);
    const completed = parseTimestamp(status.completionTime);
    const duration = started === undefined ? '' : humanDuration((completed ?? now) - started);
    return { cells: [nameOf(job), jobStatus(job), completions, duration, ageOf(job, now), ...containerCells(template(job)), formatLabelSelector(spec.selector)] };
  },
};

const CRON_JOB: Printer = {
  columns: [
    NAME,
    column('Schedule', 'CronJobSpec.schedule'),
    column('Timezone', 'CronJobSpec.timeZone'),
    column('Suspend', 'CronJobSpec.suspend', { type: 'boolean' }),
    column('Active', 'CronJobStatus.active', INT),
    column('Last Schedule', 'CronJobStatus.lastScheduleTime'),
    AGE,
    CONTAINERS,
    IMAGES,
    column('Selector', 'JobSpec.selector', WIDE),
  ],
  row(cj, now) {
    const spec = obj(cj, 'spec');
    const status = obj(cj, 'status');
    const suspend = spec.suspend === true ? 'True' : spec.suspend === false ? 'False' : '<unset>';
    const jobTemplate = obj(spec, 'jobTemplate');
    return {
      cells: [
        nameOf(cj),
        str(spec, 'schedule'),
        orNone(str(spec, 'timeZone')),
        suspend,
        arr(status, 'active').length,
        has(status, 'lastScheduleTime') ? since(status.lastScheduleTime, now) : '<none>',
        ageOf(cj, now),
        ...containerCells(obj(jobTemplate, 'spec', 'template')),
        formatLabelSelector(obj(jobTemplate, 'spec').selector),
      ],
    };
  },
};

// ---- autoscaling/v1 Scale (`kubectl get --subresource=scale`) --------------------------------

const SCALE: Printer = {
  columns: [
    NAME,
    { name: 'Desired', type: 'integer', format: '', description: 'replicas is the desired number of instances for the scaled object.', priority: 0 },
    { name: 'Available', type: 'integer', format: '', description: 'replicas is the actual number of observed instances of the scaled object.', priority: 0 },
    AGE,
  ],
  row: (scale, now) => ({ cells: [nameOf(scale), num(obj(scale, 'spec'), 'replicas'), num(obj(scale, 'status'), 'replicas'), ageOf(scale, now)] }),
};

/** The printers of built-in kinds, keyed `group/Kind` (core: `/Kind`). */
const PRINTERS: ReadonlyMap<string, Printer> = new Map([
  ['/Pod', POD_PRINTER],
  ['/Node', NODE],
  ['/Namespace', NAMESPACE],
  ['/ConfigMap', CONFIG_MAP],
  ['/Secret', SECRET],
  ['/ServiceAccount', SERVICE_ACCOUNT],
  ['/Service', SERVICE],
  ['/Endpoints', ENDPOINTS],
  ['/Event', EVENT],
  ['/PersistentVolume', PERSISTENT_VOLUME],
  ['/PersistentVolumeClaim', PERSISTENT_VOLUME_CLAIM],
  ['apps/Deployment', DEPLOYMENT],
  ['apps/ReplicaSet', REPLICA_SET],
  ['apps/StatefulSet', STATEFUL_SET],
  ['apps/DaemonSet', DAEMON_SET],
  ['batch/Job', JOB],
  ['batch/CronJob', CRON_JOB],
  ['autoscaling/Scale', SCALE],
]);

export function builtinPrinter(group: string, kind: string): Printer | undefined {
  return PRINTERS.get(`${group}/${kind}`);
}
