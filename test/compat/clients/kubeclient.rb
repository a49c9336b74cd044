# Ruby kubeclient (Debian's ruby-kubeclient) against a watchcache server.
#
# A fixed script: ARGV[0] is the server URL, ARGV[1] a namespace of its own. It prints one JSON
# object of what the client saw; test/compat/clients.test.ts asserts on it. Each step is wrapped
# so one failure is reported with its message and the rest still run.
require 'json'
require 'kubeclient'

url, ns = ARGV
client = Kubeclient::Client.new("#{url}/api", 'v1')
out = { 'client' => "kubeclient #{Kubeclient::VERSION}" }

step = lambda do |name, &block|
  out[name] = block.call
rescue Kubeclient::HttpError => e
  out[name] = { 'error' => e.class.name, 'status' => e.error_code, 'message' => e.message }
rescue StandardError => e
  out[name] = { 'error' => e.class.name, 'message' => e.message }
end

before = client.get_pods(namespace: ns, as: :raw).then { |raw| JSON.parse(raw)['metadata']['resourceVersion'] }

step.call('create') do
  %w[rb-0 rb-1 rb-2].map do |name|
    pod = Kubeclient::Resource.new(
      metadata: { name: name, namespace: ns, labels: { app: 'rb', role: name == 'rb-1' ? 'lead' : 'member' } },
      spec: { containers: [{ name: 'app', image: 'nginx' }] }
    )
    client.create_pod(pod).metadata.resourceVersion
  end
end

step.call('get') do
  pod = client.get_pod('rb-0', ns)
  { 'name' => pod.metadata.name, 'kind' => pod.kind, 'labels' => pod.metadata.labels.to_h.transform_keys(&:to_s) }
end

step.call('getLabelSelector') do
  client.get_pods(namespace: ns, label_selector: 'role=lead').map { |p| p.metadata.name }
end

step.call('getList') do
  list = client.get_pods(namespace: ns)
  { 'names' => list.map { |p| p.metadata.name }.sort, 'resourceVersion' => list.resourceVersion, 'kind' => list.kind }
end

step.call('watch') do
  # From a resourceVersion taken before the creates: the watch replays them, in order.
  seen = []
  watcher = client.watch_pods(namespace: ns, resource_version: before, timeout_seconds: 10)
  watcher.each do |notice|
    seen << { 'type' => notice.type, 'name' => notice.object.metadata.name, 'resourceVersion' => notice.object.metadata.resourceVersion }
    break if seen.size == 3
  end
  watcher.finish
  seen
end

step.call('watchLive') do
  # A watch from the list's resourceVersion sees a delete made while it runs (or, if the delete
  # wins the race to the server, replays it).
  rv = JSON.parse(client.get_pods(namespace: ns, as: :raw))['metadata']['resourceVersion']
  watcher = client.watch_pods(namespace: ns, resource_version: rv, timeout_seconds: 10)
  deleter = Thread.new do
    client.delete_pod('rb-2', ns)
  end
  event = nil
  watcher.each do |notice|
    event = { 'type' => notice.type, 'name' => notice.object.metadata.name }
    break
  end
  watcher.finish
  deleter.join
  event
end

puts JSON.generate(out)
