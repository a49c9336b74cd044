/**
 * Request bodies recorded from kubectl 1.33 (`kubectl create ...` against a logging proxy): the
 * protobuf kubectl sends for built-in kinds, decoded to the JSON Go would print for them.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeObject } from '../../../src/encode/protobuf/envelope.js';

const body = (name: string): Buffer => readFileSync(new URL(`./fixtures/kubectl-1.33-${name}.bin`, import.meta.url));

describe('protobuf bodies sent by kubectl 1.33', () => {
  it('create configmap demo --from-literal=a=b', () => {
    expect(decodeObject(body('create-configmap'))).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'demo' }, data: { a: 'b' } });
  });

  it('create namespace demo-ns', () => {
    expect(decodeObject(body('create-namespace'))).toEqual({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo-ns' }, spec: {}, status: {} });
  });

  it('create secret generic demo-secret --from-literal=user=admin (data as base64, as JSON has it)', () => {
    expect(decodeObject(body('create-secret-generic'))).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'demo-secret' },
      data: { user: Buffer.from('admin').toString('base64') },
    });
  });

  it('create service clusterip demo-svc --tcp=80:8080 (targetPort an IntOrString)', () => {
    expect(decodeObject(body('create-service-clusterip'))).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'demo-svc', labels: { app: 'demo-svc' } },
      spec: {
        ports: [{ name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080 }],
        selector: { app: 'demo-svc' },
        type: 'ClusterIP',
      },
      status: { loadBalancer: {} },
    });
  });
});
