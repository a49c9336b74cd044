/**
 * Built-in kinds are stored with kube-apiserver's defaults (SetDefaults_* of core, apps and batch
 * v1), so objects, and the Tables kubectl prints from them, read as on kube: a Secret's TYPE
 * Opaque, a Service's TYPE ClusterIP, a CronJob's SUSPEND False, a volume's RECLAIM POLICY Retain.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, POD_SPEC, startTestServer, type TestServer } from './http-helpers.js';

const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io';

describe('kube defaults on write', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ workers: 0 });
  });
  afterAll(() => t.close());

  const create = async (path: string, json: unknown) => {
    const reply = await call(t.url, path, { method: 'POST', json });
    expect(reply.status, reply.text.slice(0, 400)).toBe(201);
    return reply.json;
  };

  /** The cells of a Table's single row, by column name. */
  const row = async (path: string): Promise<Record<string, unknown>> => {
    const reply = await call(t.url, path, { headers: { accept: TABLE } });
    expect(reply.status, reply.text.slice(0, 400)).toBe(200);
    const names = (reply.json.columnDefinitions as Array<{ name: string }>).map((c) => c.name);
    return Object.fromEntries(names.map((name, i) => [name, reply.json.rows[0].cells[i]]));
  };

  it('a pod: the pod spec and container defaults, requests taken from limits; what was given is kept', async () => {
    const pod = await create('/api/v1/namespaces/d/pods', {
      metadata: { name: 'p' },
      spec: {
        restartPolicy: 'Never',
        containers: [
          { name: 'a', image: 'nginx:1.27', ports: [{ containerPort: 80 }], resources: { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m' } } },
          { name: 'b', image: 'registry.local:5000/tools', imagePullPolicy: 'Never' },
          { name: 'c', image: 'busybox@sha256:0000000000000000000000000000000000000000000000000000000000000000' },
        ],
      },
    });
    expect(pod.spec).toMatchObject({ restartPolicy: 'Never', dnsPolicy: 'ClusterFirst', schedulerName: 'default-scheduler', terminationGracePeriodSeconds: 30, securityContext: {}, enableServiceLinks: true });
    const [a, b, c] = pod.spec.containers;
    expect(a).toEqual({
      name: 'a',
      image: 'nginx:1.27',
      ports: [{ containerPort: 80, protocol: 'TCP' }],
      resources: { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m', memory: '1Gi' } },
      imagePullPolicy: 'IfNotPresent',
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
    });
    // A registry port is not a tag: no tag means latest, pulled Always; a digest, IfNotPresent.
    expect(b.imagePullPolicy).toBe('Never');
    expect(c.imagePullPolicy).toBe('IfNotPresent');
    const untagged = await create('/api/v1/namespaces/d/pods', { metadata: { name: 'q' }, spec: { containers: [{ name: 'a', image: 'registry.local:5000/tools' }] } });
    expect(untagged.spec.containers[0].imagePullPolicy).toBe('Always');
  });

  it('a secret is Opaque, a service ClusterIP with TCP ports aimed at themselves, a volume Retain', async () => {
    expect((await create('/api/v1/namespaces/d/secrets', { metadata: { name: 's' }, data: {} })).type).toBe('Opaque');
    expect((await create('/api/v1/namespaces/d/secrets', { metadata: { name: 't' }, type: 'kubernetes.io/tls', data: { 'tls.crt': '', 'tls.key': '' } })).type).toBe('kubernetes.io/tls');
    expect((await row('/api/v1/namespaces/d/secrets/s')).Type).toBe('Opaque');

    const svc = await create('/api/v1/namespaces/d/services', { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }, { name: 'dns', port: 53, protocol: 'UDP', targetPort: 5353 }] } });
    expect(svc.spec).toEqual({
      selector: { app: 'web' },
      ports: [
        { name: 'http', port: 80, protocol: 'TCP', targetPort: 80 },
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 5353 },
      ],
      type: 'ClusterIP',
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
    });
    expect((await row('/api/v1/namespaces/d/services/web')).Type).toBe('ClusterIP');
    const nodePort = await create('/api/v1/namespaces/d/services', { metadata: { name: 'np' }, spec: { type: 'NodePort', ports: [{ port: 80 }] } });
    expect(nodePort.spec.externalTrafficPolicy).toBe('Cluster');

    const pv = await create('/api/v1/persistentvolumes', { metadata: { name: 'v' }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/tmp' } } });
    expect(pv.spec).toMatchObject({ persistentVolumeReclaimPolicy: 'Retain', volumeMode: 'Filesystem' });
    expect((await row('/api/v1/persistentvolumes/v'))['Reclaim Policy']).toBe('Retain');
    const pvc = await create('/api/v1/namespaces/d/persistentvolumeclaims', { metadata: { name: 'c' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
    expect(pvc.spec.volumeMode).toBe('Filesystem');
  });

  it('apps: rollout strategies, replicas and history limits, and the pod template defaulted', async () => {
    const template = { metadata: { labels: { app: 'w' } }, spec: POD_SPEC };
    const selector = { matchLabels: { app: 'w' } };
    const deploy = await create('/apis/apps/v1/namespaces/d/deployments', { metadata: { name: 'w' }, spec: { selector, template } });
    expect(deploy.spec).toMatchObject({
      replicas: 1,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      template: { spec: { restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', containers: [{ imagePullPolicy: 'Always', terminationMessagePolicy: 'File' }] } },
    });
    // A pod template is not a pod: no service links default there (kube sets it on pods only).
    expect(deploy.spec.template.spec.enableServiceLinks).toBeUndefined();
    const recreate = await create('/apis/apps/v1/namespaces/d/deployments', { metadata: { name: 'r' }, spec: { selector, template, strategy: { type: 'Recreate' } } });
    expect(recreate.spec.strategy).toEqual({ type: 'Recreate' });

    const sts = await create('/apis/apps/v1/namespaces/d/statefulsets', { metadata: { name: 's' }, spec: { selector, template, serviceName: 's' } });
    expect(sts.spec).toMatchObject({ replicas: 1, podManagementPolicy: 'OrderedReady', updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } }, revisionHistoryLimit: 10 });
    const ds = await create('/apis/apps/v1/namespaces/d/daemonsets', { metadata: { name: 'ds' }, spec: { selector, template } });
    expect(ds.spec).toMatchObject({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } }, revisionHistoryLimit: 10 });
    const rs = await create('/apis/apps/v1/namespaces/d/replicasets', { metadata: { name: 'rs' }, spec: { selector, template } });
    expect(rs.spec.replicas).toBe(1);
  });

  it('batch: a job runs once with six retries; a cron job is not suspended and keeps 3 and 1 jobs', async () => {
    const template = { spec: { ...POD_SPEC, restartPolicy: 'Never' } };
    const job = await create('/apis/batch/v1/namespaces/d/jobs', { metadata: { name: 'j' }, spec: { template } });
    expect(job.spec).toMatchObject({ completions: 1, parallelism: 1, backoffLimit: 6, completionMode: 'NonIndexed', suspend: false, template: { spec: { restartPolicy: 'Never', dnsPolicy: 'ClusterFirst' } } });
    // Parallelism alone given: completions stay unset (a work queue), as kube leaves them.
    const queue = await create('/apis/batch/v1/namespaces/d/jobs', { metadata: { name: 'q' }, spec: { parallelism: 3, template } });
    expect(queue.spec.completions).toBeUndefined();
    expect(queue.spec.parallelism).toBe(3);

    const cron = await create('/apis/batch/v1/namespaces/d/cronjobs', { metadata: { name: 'c' }, spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template } } } });
    expect(cron.spec).toMatchObject({ concurrencyPolicy: 'Allow', suspend: false, successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 1, jobTemplate: { spec: { template: { spec: { schedulerName: 'default-scheduler' } } } } });
    expect((await row('/apis/batch/v1/namespaces/d/cronjobs/c')).Suspend).toBe('False');
  });

  it('updates are defaulted too, and a field of the wrong type is refused, not defaulted around', async () => {
    await create('/api/v1/namespaces/d/secrets', { metadata: { name: 'u' }, type: 'Opaque' });
    const put = await call(t.url, '/api/v1/namespaces/d/secrets/u', { method: 'PUT', json: { metadata: { name: 'u' }, data: { a: 'YQ==' } } });
    expect(put.status, put.text).toBe(200);
    expect(put.json.type).toBe('Opaque');
    const bad = await call(t.url, '/api/v1/namespaces/d/services', { method: 'POST', json: { metadata: { name: 'bad' }, spec: { ports: 'eighty' } } });
    expect([400, 422]).toContain(bad.status);
    expect((await call(t.url, '/api/v1/namespaces/d/services/bad')).status).toBe(404);
  });

  it('a kind kube does not default is stored as given (a ConfigMap)', async () => {
    const cm = await create('/api/v1/namespaces/d/configmaps', { metadata: { name: 'cm' }, data: { a: 'b' } });
    expect(Object.keys(cm).sort()).toEqual(['apiVersion', 'data', 'kind', 'metadata']);
  });
});
