"""The agent's NetworkPolicy side: the controller's policies as conjunctive flows.

    ControllerClient ──replace / batch──▶ store.PolicyStore ──on_replace / on_changes──▶ cache.RuleCache
      (agent.controller)                  events checked once;        (typed changes,    what is dirty,
            ▲                             policies, rules, groups,     Dirty)            local pods ◀───┐
            │ report_realized             the indexes between them                            │ Dirty    │
            │                                      ▲ rules, groups                            ▼          │
            └── realizer.PolicyRealizer ◀──FlowChange── reconciler.Reconciler ◀── local pods ─┘          │
                one bundle per batch                    rules to conjunctions,     agent.pods: pod ──────┘
                (FlowClient.update)                     flowtable.PolicyFlows      attached/detached

- `store`: the one policy store: the node's policies and groups, their rules, the indexes between
  them (rules by group, groups by member); events checked into typed changes and `Dirty` rules;
- `rules`: a policy's rules, each named by a hash of its content; `groups`: an AddressGroup's
  members and peer addresses; `dirty`: what changed for the rules;
- `cache`: the store's listener: what is dirty, and the local pods;
- `addresses`, `ports`: peers and services in the form the flows match them;
- `reconciler`: recomputes the dirty rules and diffs them into the shared flows;
- `flowtable` (with the compiled `_shared`): the flows wanted, and the change since last time;
- `allocator`: conj_ids, reused first-in first-out after a delay;
- `realizer`: the task that installs each change and reports realization; `stats`: per-rule
  counters; `runtime`: everything wired for the agent program, with the start-up sequence.

Flow layout and priorities: `agent.openflow.builders.policy`.
"""
