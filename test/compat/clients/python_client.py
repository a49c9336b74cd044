"""The Kubernetes Python client (Debian's python3-kubernetes) against a watchcache server.

A fixed script: argv[1] is the server URL, argv[2] a namespace of its own. It prints one JSON
object of what the client saw; test/compat/clients.test.ts asserts on it. Each step is wrapped so
one failure is reported with its message and the rest still run.
"""
import json
import sys
import traceback

from kubernetes import client, watch
from kubernetes.client.rest import ApiException

url, ns = sys.argv[1], sys.argv[2]
cfg = client.Configuration()
cfg.host = url
api = client.CoreV1Api(client.ApiClient(cfg))
out = {"client": "python3-kubernetes " + __import__("kubernetes").__version__}


def step(name):
    def run(fn):
        try:
            out[name] = fn()
        except ApiException as e:
            out[name] = {"error": "ApiException", "status": e.status, "reason": e.reason, "body": e.body}
        except Exception as e:  # noqa: BLE001 - reported, not hidden
            out[name] = {"error": type(e).__name__, "message": str(e), "trace": traceback.format_exc()}
        return fn

    return run


def pod(name, labels, node):
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1PodSpec(node_name=node, containers=[client.V1Container(name="app", image="nginx")]),
    )


before = api.list_namespaced_pod(ns).metadata.resource_version


@step("create")
def _():
    made = []
    for i in range(5):
        p = api.create_namespaced_pod(ns, pod(f"py-{i}", {"app": "py", "tier": "even" if i % 2 == 0 else "odd"}, f"node-{i % 2}"))
        made.append({"name": p.metadata.name, "resourceVersion": p.metadata.resource_version, "uid": p.metadata.uid})
    return made


@step("listLabelSelector")
def _():
    return sorted(p.metadata.name for p in api.list_namespaced_pod(ns, label_selector="app=py,tier=even").items)


@step("listFieldSelector")
def _():
    return sorted(p.metadata.name for p in api.list_namespaced_pod(ns, field_selector="spec.nodeName=node-1").items)


@step("listPages")
def _():
    pages, token = [], None
    while True:
        kwargs = {"limit": 2}
        if token:
            kwargs["_continue"] = token
        page = api.list_namespaced_pod(ns, **kwargs)
        pages.append([p.metadata.name for p in page.items])
        token = page.metadata._continue
        if not token or len(pages) > 10:
            return pages


@step("watchFromBefore")
def _():
    # Resume from a resourceVersion taken before the creates: the watch replays them in order.
    w = watch.Watch()
    seen = []
    for e in w.stream(api.list_namespaced_pod, ns, resource_version=before, timeout_seconds=10):
        seen.append({"type": e["type"], "name": e["object"].metadata.name, "resourceVersion": e["object"].metadata.resource_version})
        if len(seen) == 5:
            w.stop()
    return seen


@step("patch")
def _():
    p = api.patch_namespaced_pod("py-0", ns, {"metadata": {"labels": {"patched": "yes"}}})
    return {"labels": p.metadata.labels, "resourceVersion": p.metadata.resource_version}


@step("watchResume")
def _():
    # Watch from the last create's resourceVersion: the patch above is the next event.
    w = watch.Watch()
    last = out["create"][-1]["resourceVersion"]
    for e in w.stream(api.list_namespaced_pod, ns, resource_version=last, timeout_seconds=10):
        w.stop()
        return {"type": e["type"], "name": e["object"].metadata.name, "labels": e["object"].metadata.labels}
    return None


@step("watchTooOld")
def _():
    # A resourceVersion older than the server's window: a 410 Gone, in-band or as the response.
    w = watch.Watch()
    try:
        for e in w.stream(api.list_namespaced_pod, ns, resource_version="1", timeout_seconds=5):
            return {"unexpected": e["type"]}
    except ApiException as e:
        return {"status": e.status, "reason": e.reason}
    return {"unexpected": "end"}


@step("relistAfterGone")
def _():
    # The client's recovery from 410: list again, watch from the list's resourceVersion.
    listed = api.list_namespaced_pod(ns)
    api.delete_namespaced_pod("py-4", ns)
    w = watch.Watch()
    for e in w.stream(api.list_namespaced_pod, ns, resource_version=listed.metadata.resource_version, timeout_seconds=10):
        w.stop()
        return {"listed": len(listed.items), "type": e["type"], "name": e["object"].metadata.name}
    return None


@step("delete")
def _():
    status = api.delete_namespaced_pod("py-1", ns)
    try:
        api.read_namespaced_pod("py-1", ns)
        return {"deleted": status.metadata.name, "readAfter": 200}
    except ApiException as e:
        return {"deleted": status.metadata.name, "readAfter": e.status}


@step("patchContainers")
def _():
    # A dict patch is sent as a strategic merge patch: the container list merges by name, so the
    # side container stays and only app's image changes.
    two = client.V1Pod(
        metadata=client.V1ObjectMeta(name="py-two"),
        spec=client.V1PodSpec(containers=[client.V1Container(name="app", image="nginx:1"), client.V1Container(name="side", image="busybox:1")]),
    )
    api.create_namespaced_pod(ns, two)
    p = api.patch_namespaced_pod("py-two", ns, {"spec": {"containers": [{"name": "app", "image": "nginx:2"}]}})
    return [[c.name, c.image] for c in p.spec.containers]


@step("podWithoutContainers")
def _():
    # Refused with 422, so no watcher of the namespace ever has to decode it.
    watched_from = api.list_namespaced_pod(ns).metadata.resource_version
    try:
        api.create_namespaced_pod(ns, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "py-empty"}, "spec": {}})
        refused = None
    except ApiException as e:
        body = json.loads(e.body)
        refused = {"status": e.status, "reason": body.get("reason"), "causes": body.get("details", {}).get("causes")}
    api.create_namespaced_pod(ns, pod("py-after", {"app": "after"}, "node-0"))
    w = watch.Watch()
    seen = []
    for e in w.stream(api.list_namespaced_pod, ns, resource_version=watched_from, timeout_seconds=10):
        seen.append([e["type"], e["object"].metadata.name])
        if e["object"].metadata.name == "py-after":
            w.stop()
    return {"refused": refused, "watched": seen}


print(json.dumps(out))
