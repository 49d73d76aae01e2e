"""The lab: a whole pyantrea cluster on one Linux machine (nodes are network namespaces).

`pyantctl lab` (pyantctl/labcmd) drives it; these modules do the work:

- harness: `netns` (named namespaces), `underlay` (the bridge joining nodes), `ovs` (one Open
  vSwitch per node), `nodes` (NodeSet: the addressing plan, Node objects, agent configs);
- the lab's Kubernetes: `kubernetes/` (the real etcd, kube-apiserver, kube-controller-manager
  and kube-scheduler: binaries, PKI, kubeconfigs, command lines), `identities` (the
  ServiceAccounts and RBAC of manifests/, tokens), `apiforward` (the API server on the host's
  loopback, for kubectl), `kubelet/` (the one role the lab plays itself: node registration,
  sandboxes through the real pyantrea-cni, the pods' servers, pod and node status, graceful
  deletion), `podserver` (the stand-in for a pod's containers);
- bringing it up and down: `layout` (the state directory and names), `record` (what `up` made),
  `processes` (detached processes known by pid and start time), `supervisor` (the program that
  keeps one lab program running, starting it again with back-off), `supervised` (starting,
  reading and stopping supervised programs), `programs` (every program's pid, restarts and
  state now), `up`, `down`, `status`, `health`;
- using it: `session` (a command's view of the running lab and its API), `kinds`, `manifests`,
  `applying`, `tables`, `waiting`, `probing` with `prober`.

Nothing of a lab is configured in the host's own network namespace: the API server listens on
the underlay, and commands that talk to it enter the underlay's namespace first; kubectl on the
host reaches it through `apiforward` on the host's loopback.
"""
