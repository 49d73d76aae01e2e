#!/usr/bin/env bash
# The introduction article's walk-through, on this machine: on a fresh Debian 12 machine, as root,
# it sets everything up (./scripts/setup.sh), starts a 3-node pyantrea lab with AntreaProxy (the
# agents load-balance Services in OVS; `lab up --proxy kube-proxy` runs the article's design
# instead: table 40 sends Service traffic to gw0 and kube-proxy) and CoreDNS, deploys the
# guestbook in the development namespace (real redis-server master and replicas, the frontend web
# app), and shows what the article shows by hand: pods with addresses from each node's subnet,
# `ovs-vsctl show` and the table-90 flows of a node, pings within and across nodes, the Services
# and their load-balancing flows;
# then adds a guestbook entry through the frontend's NodePort, reads it back through a Redis
# replica, applies the NetworkPolicy that isolates Redis to the frontend, and shows the app still
# working and every other pod shut out. The lab keeps running afterwards; `.venv/bin/pyantctl lab
# down` removes it.
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

step "A 3-node cluster: each node a network namespace with Open vSwitch, pyantrea-agent (Services too) and a kubelet"
show "$PYANTCTL" lab up --nodes 3 --tunnel vxlan

step "The guestbook in namespace development (Redis master, two Redis replicas, three frontends, their Services)"
show "$PYANTCTL" lab apply -f examples/guestbook/guestbook.yaml --wait
show "$PYANTCTL" lab get pods -n development -o wide
show "$PYANTCTL" lab get services -n development

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

step "The Services in Open vSwitch on $MASTER_NODE: table 34 ServiceLB sends each Service port to a select group"
show "$PYANTCTL" get services --node "$MASTER_NODE"
show ovs-ofctl dump-flows br-int table=34

step "Pods reach each other on the same node and across nodes"
if [ -n "$SAME_NODE_IP" ]; then
    show "$PYANTCTL" lab exec "development/$FRONTEND" -- ping -c 1 "$SAME_NODE_IP"
fi
show "$PYANTCTL" lab exec "development/$FRONTEND" -- ping -c 1 "$OTHER_NODE_IP"

NODE1=$("$PYANTCTL" lab status -o json | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["nodes"][0]["address"].split("/")[0])')
GUESTBOOK="http://$NODE1:32120/entries"
# Replication is asynchronous: read until the entry is there (a few milliseconds).
read_back() {
    local answer=""
    for _ in $(seq 50); do
        answer=$("$PYANTCTL" lab exec --node node2 -- curl -sS -m 5 "$GUESTBOOK")
        grep -qF "$1" <<<"$answer" && break
        sleep 0.2
    done
    printf '$ %s\n%s\n' "$PYANTCTL lab exec --node node2 -- curl -sS -m 5 $GUESTBOOK" "$answer"
    grep -qF "$1" <<<"$answer"
}

step "The guestbook: an entry added through the frontend Service's NodePort ($NODE1:32120, from node3), written to redis-master"
show "$PYANTCTL" lab exec --node node3 -- curl -sS -m 5 --data "Hello from the pyantrea lab" "$GUESTBOOK"

step "... read back through the NodePort from node2: the frontend reads it from a Redis replica (the redis-slave Service)"
read_back "Hello from the pyantrea lab"
show "$PYANTCTL" lab exec "development/$FRONTEND" -- redis-cli -h redis-slave lrange guestbook 0 -1
show "$PYANTCTL" lab exec "development/$FRONTEND" -- sh -c 'redis-cli -h redis-slave info replication | head -5'

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

step "The guestbook still works through the policy: a second entry, read back through a replica"
show "$PYANTCTL" lab exec --node node3 -- curl -sS -m 5 --data "Written after the NetworkPolicy" "$GUESTBOOK"
read_back "Written after the NetworkPolicy"

step "... while every other pod is shut out of Redis (here the master, which no policy lets reach the replicas' Service)"
MASTER=$(field 'import json,sys; print(next(p["metadata"]["name"] for p in json.load(sys.stdin)["items"] if p["metadata"]["labels"].get("role") == "master"))')
if show "$PYANTCTL" lab exec "development/$MASTER" -- timeout 3 redis-cli -h redis-slave ping; then
    echo "unexpected: the policy let the master reach the replicas" >&2
else
    echo "refused: no answer within 3 s (the policy drops the connection)"
fi

step "The lab keeps running"
cat <<EOF
  $PYANTCTL lab status                                  processes, nodes, subnets
  export KUBECONFIG=\$($PYANTCTL lab kubeconfig)         then the real kubectl works against the lab:
  /var/cache/pyantrea/kubernetes/v1.37.2/bin/kubectl get pods -A -o wide
  $PYANTCTL lab get pods -A -o wide                     every pod with its IP and node
  $PYANTCTL lab exec development/$FRONTEND -- ip addr   a shell command in a pod
  $PYANTCTL lab exec --node node1 -- nft list ruleset  a node's NodePort redirect into OVS
  OVS_RUNDIR=$LAB_DIR/nodes/node2/ovs ovs-ofctl dump-flows br-int
  $PYANTCTL lab down                                    stop it and remove everything it made
EOF
