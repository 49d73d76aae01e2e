"""The agent's link to the controller (issue 4's agent side), a library the agent wires in.

- `client.ControllerClient`: watches the node's share of the controlplane over TLS with a
  bearer token, replaces its state after each (re)connect, applies the changes, reconnects with
  backoff, falls back to the saved state at start, and reports realization;
- it writes the node's policies and groups into the agent's one policy store
  (`agent.policy.store`), which tells its listeners (the rule cache), on the event loop,
  `on_replace(...)` and `on_changes(...)`: its typed changes and what they make dirty;
- `filestore` and `saver`: the state saved under `policyStateDir`;
- `reporter`: the realizations the realizer reports and the client sends to the controller.

The agent's composition (`agent.main`) wires it like this:

    store, reporter = PolicyStore(), RealizationReporter(config.node_name)
    realizer = PolicyRealizer(flows, store, reporter=reporter)   # reads the store, writes realizations
    client = ControllerClient.from_config(config, store=store, reporter=reporter)  # writes the store
    tasks.spawn(client.run(), name="controller-client")
    await client.wait_synced()        # then install the initial policies in one batch
"""
