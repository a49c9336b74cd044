/**
 * The pod row, against the cases of kube's printers_test.go (TestPrintPod and friends): READY,
 * STATUS and RESTARTS as `kubectl get pods` prints them.
 */
import { describe, expect, it } from 'vitest';
import { POD_PRINTER } from '../../../src/encode/table/pod.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const running = { running: { startedAt: '2024-05-01T11:00:00Z' } };

function pod(status: Record<string, unknown>, spec: Record<string, unknown> = { containers: [{ name: 'a' }, { name: 'b' }] }, metadata: Record<string, unknown> = {}) {
  return { metadata: { name: 'test1', ...metadata }, spec, status };
}

/** NAME READY STATUS RESTARTS AGE */
function cells(p: Record<string, unknown>): unknown[] {
  return POD_PRINTER.row(p, NOW).cells.slice(0, 5);
}

describe('pod STATUS, READY and RESTARTS', () => {
  it('counts ready running containers and sums restarts; the phase is the status', () => {
    const p = pod({ phase: 'podPhase', containerStatuses: [{ ready: true, restartCount: 3, state: running }, { restartCount: 3 }] });
    expect(cells(p)).toEqual(['test1', '1/2', 'podPhase', '6', '<unknown>']);
  });

  it('a waiting container shows its reason', () => {
    const p = pod({
      phase: 'podPhase',
      containerStatuses: [
        { state: { waiting: { reason: 'ContainerWaitingReason' } }, restartCount: 3 },
        { ready: true, restartCount: 3, state: running },
      ],
    });
    expect(cells(p)).toEqual(['test1', '1/2', 'ContainerWaitingReason', '6', '<unknown>']);
  });

  it('a terminated container shows its reason, else Signal:N, else ExitCode:N', () => {
    const second = { ready: true, restartCount: 3, state: running };
    const withState = (terminated: Record<string, unknown>) => pod({ phase: 'podPhase', containerStatuses: [{ state: { terminated }, restartCount: 3 }, second] });
    expect(cells(withState({ reason: 'ContainerTerminatedReason' }))[2]).toBe('ContainerTerminatedReason');
    expect(cells(withState({ signal: 1 }))[2]).toBe('Signal:1');
    expect(cells(withState({ exitCode: 1 }))[2]).toBe('ExitCode:1');
  });

  it('a pod being deleted is Terminating, or Unknown when its node is lost', () => {
    const statuses = [
      { ready: true, restartCount: 3, state: running },
      { ready: true, restartCount: 3, state: running },
    ];
    const deleting = { deletionTimestamp: '2024-05-01T11:59:00Z' };
    expect(cells(pod({ phase: 'podPhase', containerStatuses: statuses }, undefined, deleting))).toEqual(['test1', '2/2', 'Terminating', '6', '<unknown>']);
    expect(cells(pod({ phase: 'Running', reason: 'NodeLost', containerStatuses: statuses }, undefined, deleting))[2]).toBe('Unknown');
    // A pod that already finished keeps its phase while it is deleted.
    expect(cells(pod({ phase: 'Succeeded' }, { containers: [] }, deleting))[2]).toBe('Succeeded');
  });

  it('Completed with a container still running is Running when the pod is Ready, NotReady otherwise', () => {
    const statuses = [{ state: { terminated: { reason: 'Completed', exitCode: 0 } } }, { ready: true, state: running }];
    expect(cells(pod({ phase: 'Running', containerStatuses: statuses, conditions: [{ type: 'Ready', status: 'True' }] }))[2]).toBe('Running');
    expect(cells(pod({ phase: 'Running', containerStatuses: statuses }))[2]).toBe('NotReady');
  });

  describe('init containers', () => {
    const spec = { initContainers: [{ name: 'i1' }, { name: 'i2' }], containers: [{ name: 'a' }] };
    it('Init:N/M while they run', () => {
      const p = pod({ phase: 'Pending', initContainerStatuses: [{ name: 'i1', state: { terminated: { exitCode: 0 } } }, { name: 'i2', state: running }] }, spec);
      expect(cells(p)[2]).toBe('Init:1/2');
    });
    it('Init:<reason> for a waiting or failed one, Init:ExitCode:N without a reason', () => {
      const waiting = pod({ phase: 'Pending', initContainerStatuses: [{ name: 'i1', state: { waiting: { reason: 'ImagePullBackOff' } } }] }, spec);
      expect(cells(waiting)[2]).toBe('Init:ImagePullBackOff');
      const failed = pod({ phase: 'Pending', initContainerStatuses: [{ name: 'i1', state: { terminated: { reason: 'Error', exitCode: 2 } } }] }, spec);
      expect(cells(failed)[2]).toBe('Init:Error');
      const bare = pod({ phase: 'Pending', initContainerStatuses: [{ name: 'i1', state: { terminated: { exitCode: 2 } } }] }, spec);
      expect(cells(bare)[2]).toBe('Init:ExitCode:2');
      const signal = pod({ phase: 'Pending', initContainerStatuses: [{ name: 'i1', state: { terminated: { exitCode: 2, signal: 9 } } }] }, spec);
      expect(cells(signal)[2]).toBe('Init:Signal:9');
    });
    it('a waiting PodInitializing reason counts as Init:N/M', () => {
      const p = pod({ phase: 'Pending', initContainerStatuses: [{ name: 'i1', state: { waiting: { reason: 'PodInitializing' } } }] }, spec);
      expect(cells(p)[2]).toBe('Init:0/2');
    });
    it('after initialization the containers decide; PodInitializing while they wait', () => {
      const p = pod(
        {
          phase: 'Pending',
          initContainerStatuses: [
            { name: 'i1', state: { terminated: { exitCode: 0 } } },
            { name: 'i2', state: { terminated: { exitCode: 0 } } },
          ],
          containerStatuses: [{ name: 'a', state: { waiting: { reason: 'PodInitializing' } } }],
        },
        spec,
      );
      expect(cells(p).slice(1, 3)).toEqual(['0/1', 'PodInitializing']);
    });
    it('a started sidecar (restartPolicy Always) counts in READY and its restarts count', () => {
      const sidecarSpec = { initContainers: [{ name: 's', restartPolicy: 'Always' }], containers: [{ name: 'a' }] };
      const p = pod(
        {
          phase: 'Running',
          conditions: [{ type: 'Initialized', status: 'True' }],
          initContainerStatuses: [{ name: 's', started: true, ready: true, restartCount: 2, state: running }],
          containerStatuses: [{ name: 'a', ready: true, restartCount: 1, state: running }],
        },
        sidecarSpec,
      );
      expect(cells(p).slice(1, 4)).toEqual(['2/2', 'Running', '3']);
    });
  });

  it('RESTARTS says how long ago the last container restarted', () => {
    const p = pod({
      phase: 'Running',
      containerStatuses: [
        { ready: true, restartCount: 3, state: running, lastState: { terminated: { finishedAt: '2024-05-01T11:50:00Z' } } },
        { ready: true, restartCount: 1, state: running, lastState: { terminated: { finishedAt: '2024-05-01T10:00:00Z' } } },
      ],
    });
    expect(cells(p)[3]).toBe('4 (10m ago)');
  });

  it('SchedulingGated comes from the PodScheduled condition', () => {
    const p = pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] });
    expect(cells(p)[2]).toBe('SchedulingGated');
  });

  it('finished pods carry the Completed row condition', () => {
    expect(POD_PRINTER.row(pod({ phase: 'Succeeded' }), NOW).conditions).toEqual([
      { type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' },
    ]);
    expect(POD_PRINTER.row(pod({ phase: 'Failed' }), NOW).conditions?.[0]?.reason).toBe('Failed');
    expect(POD_PRINTER.row(pod({ phase: 'Running' }), NOW).conditions).toBeUndefined();
  });
});

describe('pod wide columns', () => {
  it('IP, NODE, NOMINATED NODE and READINESS GATES, <none> when unset', () => {
    expect(POD_PRINTER.row(pod({ phase: 'Pending' }), NOW).cells.slice(5)).toEqual(['<none>', '<none>', '<none>', '<none>']);
    const p = pod(
      {
        phase: 'Running',
        podIPs: [{ ip: '10.0.0.7' }],
        nominatedNodeName: 'n2',
        conditions: [
          { type: 'example.com/a', status: 'True' },
          { type: 'example.com/b', status: 'False' },
        ],
      },
      { containers: [], nodeName: 'n1', readinessGates: [{ conditionType: 'example.com/a' }, { conditionType: 'example.com/b' }] },
    );
    expect(POD_PRINTER.row(p, NOW).cells.slice(5)).toEqual(['10.0.0.7', 'n1', 'n2', '1/2']);
  });
  it('the columns are kube’s, the last four only with -o wide (priority 1)', () => {
    expect(POD_PRINTER.columns.map((c) => [c.name, c.priority])).toEqual([
      ['Name', 0],
      ['Ready', 0],
      ['Status', 0],
      ['Restarts', 0],
      ['Age', 0],
      ['IP', 1],
      ['Node', 1],
      ['Nominated Node', 1],
      ['Readiness Gates', 1],
    ]);
  });
});
