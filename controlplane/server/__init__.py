"""The gRPC controlplane server: agents watch their node's policies and groups, and report
what they realized.

    store events ──▶ Dispatcher: each distinct view encoded once (encoder), its bytes queued
                     for the watchers of the nodes that get it (watchers, bounded queues)
    Watch(node)  ──▶ ControlplaneService: token check, snapshot + registration in one step,
                     initial events, INITIAL_EVENTS_END, then the queue, batched per message
    ControlplaneServer: grpc.aio over TLS, serving the service
"""
