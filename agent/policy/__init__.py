"""The agent's NetworkPolicy side: the controller's policies as conjunctive flows.

    ControllerClient ──apply(event)──▶ store.PolicyStore ──on_replace/on_changes──▶ cache.RuleCache
      (agent.controller)               events checked once,                    rules by content hash,
            ▲                          typed changes out                       groups, local pods ◀──┐
            │ report_realized                                                        │ Dirty       │
            │                                                                        ▼             │
            └── realizer.PolicyRealizer ◀──FlowChange── reconciler.Reconciler                     │
                one bundle per batch                    rules to conjunctions,   agent.pods: pod ──┘
                (FlowClient.update)                     flowtable.PolicyFlows    attached/detached

- `store`: the one policy store: the node's policies and groups, events checked into typed changes;
- `rules`: a policy's rules, each named by a hash of its content;
- `cache`: the PolicyListener: rules, AddressGroups, AppliedToGroups, local pods, what is dirty;
- `addresses`, `ports`: peers and services in the form the flows match them;
- `reconciler`: recomputes the dirty rules and diffs them into the shared flows;
- `flowtable` (with the compiled `_shared`): the flows wanted, and the change since last time;
- `allocator`: conj_ids, reused first-in first-out after a delay;
- `realizer`: the task that installs each change and reports realization; `stats`: per-rule
  counters; `runtime`: everything wired for the agent program, with the start-up sequence.

Flow layout and priorities: `agent.openflow.builders.policy`.
"""
