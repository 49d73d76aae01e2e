"""The pure policy computation: Kubernetes objects in, groups, policies, spans and changes out.

No network, gRPC, Kubernetes client or asyncio in here. `kubeparse` turns JSON objects into the
typed `inputs`; `engine.PolicyEngine` takes their events and, at each `sync`, returns the
minimal `changes` to the controlplane API objects (`pyantrea_api.objects`, Antrea's
three-object model), via `translate` (policy semantics), `grouping` (selector groups and
members) and `publisher` (patches and spans).
"""
