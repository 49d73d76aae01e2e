#!/usr/bin/env bash
# The introduction article's walk-through, on this machine: on a fresh Debian 12 machine, as root,
# it sets everything up (./scripts/setup.sh), starts a 3-node pyantrea lab, deploys the guestbook
# in the development namespace, and shows what the article shows by hand: pods with addresses
# from each node's subnet, `ovs-vsctl show` and the table-90 flows of a node, pings within and
# across nodes, and who reaches Redis before and after a NetworkPolicy isolates it to the
# frontend. The lab keeps running afterwards; `.venv/bin/pyantctl lab down` removes it.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh

PYANTCTL=.venv/bin/pyantctl
PYTHON=.venv/bin/python
LAB_DIR=${PYANTREA_LAB_DIR:-/var/run/pyantrea-lab}

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

if [ -e "$LAB_DIR/lab.json" ]; then
    echo "lab-demo.sh: a lab already exists in $LAB_DIR; remove it with $PYANTCTL lab down" >&2
    exit 1
fi

step "A 3-node cluster: each node a network namespace with Open vSwitch, pyantrea-agent and a kubelet"
show "$PYANTCTL" lab up --nodes 3 --tunnel vxlan

step "The guestbook in namespace development (Redis master, two Redis replicas, three frontends)"
show "$PYANTCTL" lab apply -f examples/guestbook/guestbook.yaml --wait
show "$PYANTCTL" lab get pods -n development -o wide

# A pod's field from `get -o json`, picked with Python (no jq needed).
pods_json() { "$PYANTCTL" lab get pods -n development -o json; }
field() { pods_json | "$PYTHON" -c "$1"; }
MASTER_NODE=$(field 'import json,sys; print(next(p["spec"]["nodeName"] for p in json.load(sys.stdin)["items"] if p["metadata"]["labels"].get("role") == "master"))')
read -r FRONTEND FRONTEND_NODE < <(field 'import json,sys; p=[p for p in json.load(sys.stdin)["items"] if p["metadata"]["labels"].get("tier") == "frontend"][0]; print(p["metadata"]["name"], p["spec"]["nodeName"])')
SAME_NODE_IP=$(field "import json,sys; print(next((p['status']['podIP'] for p in json.load(sys.stdin)['items'] if p['spec']['nodeName'] == '$FRONTEND_NODE' and p['metadata']['name'] != '$FRONTEND'), ''))")
OTHER_NODE_IP=$(field "import json,sys; print(next(p['status']['podIP'] for p in json.load(sys.stdin)['items'] if p['spec']['nodeName'] != '$FRONTEND_NODE'))")

step "Open vSwitch on $MASTER_NODE (the node of the Redis master): br-int with tun0, gw0 and one port per pod"
export OVS_RUNDIR="$LAB_DIR/nodes/$MASTER_NODE/ovs"
show ovs-vsctl show
show ovs-ofctl dump-flows br-int table=90

step "Pods reach each other on the same node and across nodes"
if [ -n "$SAME_NODE_IP" ]; then
    show "$PYANTCTL" lab exec "development/$FRONTEND" -- ping -c 1 "$SAME_NODE_IP"
fi
show "$PYANTCTL" lab exec "development/$FRONTEND" -- ping -c 1 "$OTHER_NODE_IP"

step "Before any policy: every pod reaches Redis on 6379 (rows connect to columns; the frontends refuse: nothing listens there)"
show "$PYANTCTL" lab probe --port 6379 -n development

step "NetworkPolicies that isolate Redis to the frontend (and let the replicas reach the master)"
if show "$PYANTCTL" lab apply -f examples/guestbook/network-policy.yaml --wait --timeout 60; then
    echo "The controller reports both policies realized on every node that runs a Redis pod."
else
    echo "The policies are not realized (see above): what follows shows what the datapath does now."
fi
show ovs-ofctl dump-flows br-int table=90

step "After the policy (realized, it lets only the frontends, and the replicas to the master, reach Redis)"
show "$PYANTCTL" lab probe --port 6379 -n development

step "The lab keeps running"
cat <<EOF
  $PYANTCTL lab status                                  processes, nodes, subnets
  export KUBECONFIG=\$($PYANTCTL lab kubeconfig)         then the real kubectl works against the lab:
  /var/cache/pyantrea/kubernetes/v1.37.2/bin/kubectl get pods -A -o wide
  $PYANTCTL lab get pods -A -o wide                     every pod with its IP and node
  $PYANTCTL lab exec development/$FRONTEND -- ip addr   a shell command in a pod
  OVS_RUNDIR=$LAB_DIR/nodes/node2/ovs ovs-ofctl dump-flows br-int
  $PYANTCTL lab down                                    stop it and remove everything it made
EOF
