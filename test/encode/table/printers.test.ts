/** The printers of built-in kinds, against the cases of kube's printers_test.go. */
import { describe, expect, it } from 'vitest';
import { builtinPrinter, formatEndpoints, formatLabelSelector } from '../../../src/encode/table/printers.js';
import type { JsonObject } from '../../../src/encode/table/json.js';

const NOW = Date.parse('2024-05-10T12:00:00Z');
const ago = (ms: number): string => new Date(NOW - ms).toISOString();
const DAY = 24 * 3600 * 1000;

function cells(group: string, kind: string, object: JsonObject): unknown[] {
  const printer = builtinPrinter(group, kind);
  if (printer === undefined) throw new Error(`no printer for ${group}/${kind}`);
  const row = printer.row(object, NOW);
  expect(row.cells).toHaveLength(printer.columns.length);
  return row.cells;
}

function columns(group: string, kind: string): string[] {
  return builtinPrinter(group, kind)!.columns.map((c) => (c.priority > 0 ? `(${c.name})` : c.name));
}

describe('node', () => {
  const node = (spec: JsonObject, conditions: JsonObject[], labels: JsonObject = {}) => ({ metadata: { name: 'foo', labels }, spec, status: { conditions } });
  it('STATUS: Ready / NotReady / Unknown, plus SchedulingDisabled', () => {
    expect(cells('', 'Node', node({}, [{ type: 'Ready', status: 'True' }]))[1]).toBe('Ready');
    expect(cells('', 'Node', node({ unschedulable: true }, [{ type: 'Ready', status: 'True' }]))[1]).toBe('Ready,SchedulingDisabled');
    expect(cells('', 'Node', node({}, [{ type: 'Ready', status: 'False' }]))[1]).toBe('NotReady');
    expect(cells('', 'Node', node({}, [{ type: 'Ready', status: 'Unknown' }]))[1]).toBe('NotReady');
    expect(cells('', 'Node', node({}, []))[1]).toBe('Unknown');
    expect(cells('', 'Node', node({ unschedulable: true }, []))[1]).toBe('Unknown,SchedulingDisabled');
  });
  it('ROLES from node-role.kubernetes.io/* and kubernetes.io/role, sorted; <none> without', () => {
    const labels = { 'node-role.kubernetes.io/master': '', 'node-role.kubernetes.io/proxy': '', 'kubernetes.io/role': 'node' };
    expect(cells('', 'Node', node({}, [], labels))[2]).toBe('master,node,proxy');
    expect(cells('', 'Node', node({}, []))[2]).toBe('<none>');
  });
  it('wide: addresses and node info, <none> / <unknown> when missing', () => {
    const n = { metadata: { name: 'n' }, status: { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }], nodeInfo: { kubeletVersion: 'v1.30.0', osImage: 'Debian' } } };
    expect(cells('', 'Node', n).slice(4)).toEqual(['v1.30.0', '10.0.0.1', '<none>', 'Debian', '<unknown>', '<unknown>']);
    expect(columns('', 'Node')).toEqual(['Name', 'Status', 'Roles', 'Age', 'Version', '(Internal-IP)', '(External-IP)', '(OS-Image)', '(Kernel-Version)', '(Container-Runtime)']);
  });
});

describe('service', () => {
  const svc = (spec: JsonObject, status: JsonObject = {}) => ({ metadata: { name: 'test1' }, spec, status });
  it('ClusterIP with a selector', () => {
    const s = svc({ type: 'ClusterIP', ports: [{ protocol: 'TCP', port: 2233 }], clusterIPs: ['10.9.8.7'], selector: { foo: 'bar' } });
    expect(cells('', 'Service', s)).toEqual(['test1', 'ClusterIP', '10.9.8.7', '<none>', '2233/TCP', '<unknown>', 'foo=bar']);
  });
  it('NodePort shows port:nodePort', () => {
    const s = svc({ type: 'NodePort', ports: [{ protocol: 'TCP', port: 8888, nodePort: 9999 }], clusterIPs: ['10.9.8.7'] });
    expect(cells('', 'Service', s).slice(1, 5)).toEqual(['NodePort', '10.9.8.7', '<none>', '8888:9999/TCP']);
  });
  it('LoadBalancer shows its ingress and external IPs, <pending> before it has any', () => {
    const s = svc({ type: 'LoadBalancer', ports: [{ protocol: 'TCP', port: 80 }], clusterIPs: ['10.9.8.7'], externalIPs: ['80.11.12.10'] }, { loadBalancer: { ingress: [{ ip: '3.4.5.6' }, { hostname: 'lb.example.com' }] } });
    expect(cells('', 'Service', s)[3]).toBe('3.4.5.6,lb.example.com,80.11.12.10');
    expect(cells('', 'Service', svc({ type: 'LoadBalancer', clusterIPs: ['10.9.8.7'] }))[3]).toBe('<pending>');
  });
  it('ExternalName shows the external name and no cluster IP', () => {
    expect(cells('', 'Service', svc({ type: 'ExternalName', externalName: 'my.database.example.com' })).slice(1, 5)).toEqual(['ExternalName', '<none>', 'my.database.example.com', '<none>']);
  });
});

describe('endpoints', () => {
  it('at most three ip:port, then "+ N more..."', () => {
    const ep = { subsets: [{ addresses: [{ ip: '127.0.0.1' }, { ip: '10.9.8.7' }], ports: [{ port: 8080 }, { port: 8081 }] }] };
    expect(formatEndpoints(ep)).toBe('127.0.0.1:8080,10.9.8.7:8080,127.0.0.1:8081 + 1 more...');
    expect(formatEndpoints({ subsets: [{ addresses: [{ ip: '::1' }], ports: [{ port: 80 }] }] })).toBe('[::1]:80');
    expect(formatEndpoints({ subsets: [{ addresses: [{ ip: '10.0.0.1' }] }] })).toBe('10.0.0.1');
    expect(formatEndpoints({})).toBe('<none>');
  });
});

describe('event', () => {
  it('LAST SEEN TYPE REASON OBJECT MESSAGE, and the wide SUBOBJECT SOURCE FIRST SEEN COUNT NAME', () => {
    const event = {
      metadata: { name: 'event1' },
      source: { component: 'kubelet', host: 'Node1' },
      involvedObject: { kind: 'Deployment', name: 'Deployment Name', fieldPath: 'spec.containers{foo}' },
      reason: 'Event Reason',
      message: 'Message Data ',
      firstTimestamp: ago(3 * DAY),
      lastTimestamp: ago(2 * DAY),
      count: 6,
      type: 'Normal',
    };
    expect(cells('', 'Event', event)).toEqual(['2d', 'Normal', 'Event Reason', 'deployment/Deployment Name', 'spec.containers{foo}', 'kubelet, Node1', 'Message Data', '3d', 6, 'event1']);
    expect(columns('', 'Event')).toEqual(['Last Seen', 'Type', 'Reason', 'Object', '(Subobject)', '(Source)', 'Message', '(First Seen)', '(Count)', '(Name)']);
  });
  it('events.k8s.io-style events: eventTime, series and the reporting controller', () => {
    const event = { metadata: { name: 'e' }, eventTime: ago(60_000), series: { count: 3, lastObservedTime: ago(5000) }, reportingComponent: 'ctrl', involvedObject: { kind: 'Pod' } };
    const c = cells('', 'Event', event);
    expect([c[0], c[3], c[5], c[7], c[8]]).toEqual(['5s', 'pod', 'ctrl', '60s', 3]);
  });
});

describe('configmaps, secrets, service accounts, namespaces', () => {
  it('count their data', () => {
    expect(cells('', 'ConfigMap', { metadata: { name: 'c' }, data: { a: '1' }, binaryData: { b: 'AA==' } })).toEqual(['c', 2, '<unknown>']);
    expect(cells('', 'Secret', { metadata: { name: 's', creationTimestamp: ago(90_000) }, type: 'Opaque', data: { a: 'YQ==' } })).toEqual(['s', 'Opaque', 1, '90s']);
    expect(cells('', 'ServiceAccount', { metadata: { name: 'default' }, secrets: [{ name: 'x' }] })).toEqual(['default', 1, '<unknown>']);
    expect(cells('', 'Namespace', { metadata: { name: 'ns' }, status: { phase: 'Active' } })).toEqual(['ns', 'Active', '<unknown>']);
  });
});

describe('persistent volumes and claims', () => {
  it('PV: capacity, access modes, claim, <unset> classes', () => {
    const pv = {
      metadata: { name: 'pv1' },
      spec: { capacity: { storage: '4Gi' }, accessModes: ['ReadWriteMany', 'ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', claimRef: { namespace: 'ns', name: 'data' }, storageClassName: 'fast' },
      status: { phase: 'Bound' },
    };
    expect(cells('', 'PersistentVolume', pv)).toEqual(['pv1', '4Gi', 'RWO,RWX', 'Retain', 'Bound', 'ns/data', 'fast', '<unset>', '', '<unknown>', '<unset>']);
  });
  it('PVC: capacity and modes only once bound; Terminating while deleted', () => {
    const pending = { metadata: { name: 'c' }, spec: { accessModes: ['ReadWriteOnce'] }, status: { phase: 'Pending' } };
    expect(cells('', 'PersistentVolumeClaim', pending)).toEqual(['c', 'Pending', '', '', '', '', '<unset>', '<unknown>', '<unset>']);
    const bound = { metadata: { name: 'c', deletionTimestamp: ago(0) }, spec: { volumeName: 'pv1', volumeMode: 'Filesystem' }, status: { phase: 'Bound', capacity: { storage: '1Gi' }, accessModes: ['ReadOnlyMany'] } };
    expect(cells('', 'PersistentVolumeClaim', bound)).toEqual(['c', 'Terminating', 'pv1', '1Gi', 'ROX', '', '<unset>', '<unknown>', 'Filesystem']);
  });
});

describe('apps and batch', () => {
  const template = { spec: { containers: [{ name: 'a', image: 'nginx' }, { name: 'b', image: 'envoy' }] } };
  const selector = { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'back'] }] };
  it('deployment: READY ready/desired, UP-TO-DATE, AVAILABLE, wide containers', () => {
    const d = { metadata: { name: 'd' }, spec: { replicas: 3, template, selector }, status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 } };
    expect(cells('apps', 'Deployment', d)).toEqual(['d', '2/3', 3, 2, '<unknown>', 'a,b', 'nginx,envoy', 'app=web,tier in (back,front)']);
  });
  it('replica set, stateful set, daemon set', () => {
    expect(cells('apps', 'ReplicaSet', { metadata: { name: 'r' }, spec: { replicas: 2, template, selector: { matchLabels: { app: 'web' } } }, status: { replicas: 2, readyReplicas: 1 } })).toEqual([
      'r',
      2,
      2,
      1,
      '<unknown>',
      'a,b',
      'nginx,envoy',
      'app=web',
    ]);
    expect(cells('apps', 'StatefulSet', { metadata: { name: 's' }, spec: { replicas: 3, template }, status: { readyReplicas: 3 } })).toEqual(['s', '3/3', '<unknown>', 'a,b', 'nginx,envoy']);
    const ds = { metadata: { name: 'ds' }, spec: { template: { spec: { ...template.spec, nodeSelector: { 'kubernetes.io/os': 'linux' } } } }, status: { desiredNumberScheduled: 3, currentNumberScheduled: 3, numberReady: 2, updatedNumberScheduled: 3, numberAvailable: 2 } };
    expect(cells('apps', 'DaemonSet', ds)).toEqual(['ds', 3, 3, 2, 3, 2, 'kubernetes.io/os=linux', '<unknown>', 'a,b', 'nginx,envoy', '<none>']);
  });
  it('job: STATUS, COMPLETIONS and DURATION', () => {
    const job = (spec: JsonObject, status: JsonObject) => cells('batch', 'Job', { metadata: { name: 'j' }, spec: { template, ...spec }, status }).slice(1, 4);
    expect(job({ completions: 2 }, { succeeded: 1, startTime: ago(90_000) })).toEqual(['Running', '1/2', '90s']);
    expect(job({}, { succeeded: 1, startTime: ago(600_000), completionTime: ago(480_000), conditions: [{ type: 'Complete', status: 'True' }] })).toEqual(['Complete', '1/1', '2m']);
    expect(job({ parallelism: 3 }, { conditions: [{ type: 'Failed', status: 'True' }] })).toEqual(['Failed', '0/1 of 3', '']);
    expect(job({ completions: 1 }, { conditions: [{ type: 'Suspended', status: 'True' }] })[0]).toBe('Suspended');
  });
  it('cron job: SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE', () => {
    const cj = { metadata: { name: 'cj' }, spec: { schedule: '0/5 * * * ?', suspend: false, jobTemplate: { spec: { template } } }, status: { active: [{}], lastScheduleTime: ago(10_000) } };
    expect(cells('batch', 'CronJob', cj)).toEqual(['cj', '0/5 * * * ?', '<none>', 'False', 1, '10s', '<unknown>', 'a,b', 'nginx,envoy', '<none>']);
  });
  it('label selectors print as kube formats them', () => {
    expect(formatLabelSelector(undefined)).toBe('<none>');
    // One order across labels and expressions, by key, as labels.Selector's String.
    expect(formatLabelSelector({ matchLabels: { z: '1', a: '2' }, matchExpressions: [{ key: 'm', operator: 'In', values: ['y', 'x'] }] })).toBe('a=2,m in (x,y),z=1');
    expect(formatLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Exists' }, { key: 'b', operator: 'DoesNotExist' }, { key: 'c', operator: 'NotIn', values: ['x'] }] })).toBe('a,!b,c notin (x)');
  });
});
