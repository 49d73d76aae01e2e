"""The agent's NetworkPolicy side: the controller's policies as conjunctive flows.

    ControllerClient ──on_replace/on_events──▶ cache.RuleCache ──Dirty──▶ reconciler.Reconciler
      (agent.controller)                        rules by content hash,     rules to conjunctions,
                ▲                               groups, local pods         flowtable.PolicyFlows
                │ report_realized                      ▲                           │ FlowChange
                └──────────── realizer.PolicyRealizer ─┼───────────────────────────┘
                               one bundle per batch    │ pod attached / detached
                               (FlowClient.update)     └── agent.pods (OvsPodDatapath)

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
