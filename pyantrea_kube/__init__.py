"""The Kubernetes API edge shared by controller and agent: client config, list/watch informers,
object trimming, and status/label/annotation writes.

    api = pyantrea_kube.config.load_api_client(kubeconfig_path)      # or in-cluster when None in a pod
    pods = Informer(api, PODS, trim_pod, handler=handler, field_selector=f"spec.nodeName={node}")
    task = asyncio.create_task(pods.run(), name="informer-pods")
    await pods.wait_synced()                                 # handler.on_add per pod, then on_synced
    pods.store["shop/web"]                                   # a pyantrea_kube.objects.Pod
    await pyantrea_kube.writes.patch_status(RestClient(api), PODS, "shop", "web", {"phase": "Running"})

Everything blocking (the official `kubernetes` client) runs in worker threads; callbacks and
the store live on the event loop.
"""
