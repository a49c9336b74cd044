/**
 * The pod row of `kubectl get pods`: READY, STATUS and RESTARTS computed as kube's printPod does
 * (pkg/printers/internalversion/printers.go, Kubernetes 1.28+, restartable init containers
 * included).
 */
import { describe } from './descriptions.js';
import { humanDuration, parseTimestamp, since } from './duration.js';
import { arr, has, num, obj, str, type JsonObject } from './json.js';
import { AGE, NAME, type Printer, type RowCondition } from './printer.js';

const SUCCEEDED: RowCondition[] = [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }];
const FAILED: RowCondition[] = [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }];

/** The node controller's reason for pods on a node that stopped reporting. */
const NODE_UNREACHABLE = 'NodeLost';

/** A sidecar: an init container with restartPolicy Always, which keeps running. */
function restartable(container: JsonObject | undefined): boolean {
  return container !== undefined && str(container, 'restartPolicy') === 'Always';
}

function lastTerminated(status: unknown): number | undefined {
  return parseTimestamp(obj(status, 'lastState', 'terminated').finishedAt);
}

function exitReason(terminated: JsonObject, prefix: string): string {
  const signal = num(terminated, 'signal');
  return signal !== 0 ? `${prefix}Signal:${signal}` : `${prefix}ExitCode:${num(terminated, 'exitCode')}`;
}

function conditionTrue(pod: JsonObject, type: string): boolean {
  return arr(obj(pod, 'status'), 'conditions').some((c) => str(c, 'type') === type && str(c, 'status') === 'True');
}

export interface PodSummary {
  ready: string;
  status: string;
  restarts: string;
  conditions: RowCondition[] | undefined;
}

function podSummary(pod: JsonObject, now: number): PodSummary {
  const spec = obj(pod, 'spec');
  const status = obj(pod, 'status');
  const phase = str(status, 'phase');
  let reason = str(status, 'reason') !== '' ? str(status, 'reason') : phase;
  for (const c of arr(status, 'conditions')) {
    if (str(c, 'type') === 'PodScheduled' && str(c, 'reason') === 'SchedulingGated') reason = 'SchedulingGated';
  }

  const initSpecs = new Map<string, JsonObject>();
  let total = arr(spec, 'containers').length;
  const initContainers = arr(spec, 'initContainers');
  for (const c of initContainers) {
    initSpecs.set(str(c, 'name'), obj(c));
    if (restartable(obj(c))) total++;
  }

  let ready = 0;
  let restarts = 0;
  let lastRestart: number | undefined;
  let sidecarRestarts = 0;
  let lastSidecarRestart: number | undefined;
  const later = (a: number | undefined, b: number | undefined): number | undefined => (b !== undefined && (a === undefined || b > a) ? b : a);

  let initializing = false;
  const initStatuses = arr(status, 'initContainerStatuses');
  for (let i = 0; i < initStatuses.length; i++) {
    const c = initStatuses[i];
    const sidecar = restartable(initSpecs.get(str(c, 'name')));
    restarts += num(c, 'restartCount');
    lastRestart = later(lastRestart, lastTerminated(c));
    if (sidecar) {
      sidecarRestarts += num(c, 'restartCount');
      lastSidecarRestart = later(lastSidecarRestart, lastTerminated(c));
    }
    const state = obj(c, 'state');
    const terminated = has(state, 'terminated') ? obj(state, 'terminated') : undefined;
    const waiting = has(state, 'waiting') ? obj(state, 'waiting') : undefined;
    if (terminated !== undefined && num(terminated, 'exitCode') === 0) continue;
    if (sidecar && obj(c).started === true) {
      if (obj(c).ready === true) ready++;
      continue;
    }
    if (terminated !== undefined) {
      reason = str(terminated, 'reason') === '' ? exitReason(terminated, 'Init:') : `Init:${str(terminated, 'reason')}`;
    } else if (waiting !== undefined && str(waiting, 'reason') !== '' && str(waiting, 'reason') !== 'PodInitializing') {
      reason = `Init:${str(waiting, 'reason')}`;
    } else {
      reason = `Init:${i}/${initContainers.length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || conditionTrue(pod, 'Initialized')) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = arr(status, 'containerStatuses');
    // Backwards, so the first container's state decides, as in kube.
    for (let i = statuses.length - 1; i >= 0; i--) {
      const c = statuses[i];
      restarts += num(c, 'restartCount');
      lastRestart = later(lastRestart, lastTerminated(c));
      const state = obj(c, 'state');
      const waitingReason = str(obj(state, 'waiting'), 'reason');
      if (waitingReason !== '') {
        reason = waitingReason;
      } else if (has(state, 'terminated')) {
        const terminated = obj(state, 'terminated');
        reason = str(terminated, 'reason') !== '' ? str(terminated, 'reason') : exitReason(terminated, '');
      } else if (obj(c).ready === true && has(state, 'running')) {
        hasRunning = true;
        ready++;
      }
    }
    // A pod whose first container completed while another still runs is not "Completed".
    if (reason === 'Completed' && hasRunning) reason = conditionTrue(pod, 'Ready') ? 'Running' : 'NotReady';
  }

  const deleting = has(obj(pod, 'metadata'), 'deletionTimestamp');
  if (deleting && str(status, 'reason') === NODE_UNREACHABLE) reason = 'Unknown';
  else if (deleting && phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating';

  let restartText = String(restarts);
  if (restarts !== 0 && lastRestart !== undefined) restartText = `${restarts} (${humanDuration(now - lastRestart)} ago)`;

  return {
    ready: `${ready}/${total}`,
    status: reason,
    restarts: restartText,
    conditions: phase === 'Succeeded' ? SUCCEEDED : phase === 'Failed' ? FAILED : undefined,
  };
}

function readinessGates(pod: JsonObject): string {
  const gates = arr(obj(pod, 'spec'), 'readinessGates');
  if (gates.length === 0) return '<none>';
  const conditions = arr(obj(pod, 'status'), 'conditions');
  let passing = 0;
  for (const gate of gates) {
    const condition = conditions.find((c) => str(c, 'type') === str(gate, 'conditionType'));
    if (condition !== undefined && str(condition, 'status') === 'True') passing++;
  }
  return `${passing}/${gates.length}`;
}

export const POD_PRINTER: Printer = {
  columns: [
    NAME,
    { name: 'Ready', type: 'string', format: '', description: 'The aggregate readiness state of this pod for accepting traffic.', priority: 0 },
    { name: 'Status', type: 'string', format: '', description: 'The aggregate status of the containers in this pod.', priority: 0 },
    {
      name: 'Restarts',
      type: 'string',
      format: '',
      description: 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
      priority: 0,
    },
    AGE,
    { name: 'IP', type: 'string', format: '', description: describe('PodStatus.podIP'), priority: 1 },
    { name: 'Node', type: 'string', format: '', description: describe('PodSpec.nodeName'), priority: 1 },
    { name: 'Nominated Node', type: 'string', format: '', description: describe('PodStatus.nominatedNodeName'), priority: 1 },
    { name: 'Readiness Gates', type: 'string', format: '', description: describe('PodSpec.readinessGates'), priority: 1 },
  ],
  row(pod, now) {
    const s = podSummary(pod, now);
    const status = obj(pod, 'status');
    // v1 → internal conversion fills podIPs from podIP when only the latter is set.
    const ip = str(arr(status, 'podIPs')[0], 'ip') || str(status, 'podIP');
    const cells = [
      str(obj(pod, 'metadata'), 'name'),
      s.ready,
      s.status,
      s.restarts,
      since(obj(pod, 'metadata').creationTimestamp, now),
      ip === '' ? '<none>' : ip,
      str(obj(pod, 'spec'), 'nodeName') || '<none>',
      str(status, 'nominatedNodeName') || '<none>',
      readinessGates(pod),
    ];
    return s.conditions === undefined ? { cells } : { cells, conditions: s.conditions };
  },
};
