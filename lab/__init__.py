"""The lab: a whole pyantrea cluster on one Linux machine (nodes are network namespaces).

`pyantctl lab` (pyantctl/labcmd) drives it; these modules do the work:

- harness: `netns` (named namespaces), `underlay` (the bridge joining nodes), `ovs` (one Open
  vSwitch per node), `nodes` (NodeSet: the addressing plan, Node objects, agent configs);
- the lab's Kubernetes: `apiserver/` (the stand-in for kube-apiserver, never part of a real
  deployment), `controllers/` (scheduler and Deployment controller), `kubelet/` (sandboxes
  through the real pyantrea-cni, the pods' servers, pod and node status), `podserver` (the
  stand-in for a pod's containers);
- bringing it up and down: `layout` (the state directory and names), `record` (what `up` made),
  `processes` (detached programs known by pid and start time), `up`, `down`, `status`, `health`;
- using it: `session` (a command's view of the running lab and its API), `kinds`, `manifests`,
  `applying`, `tables`, `waiting`, `probing` with `prober`, `workqueue`.

Nothing of a lab is configured in the host's own network namespace: the API stand-in listens on
the underlay, and commands that talk to it enter the underlay's namespace first.
"""
