"""ClusterNetworkPolicy `domainNames` peers, enforced as Antrea enforces FQDN rules: the DNS answers
to the pods of a rule with domain names come to the agent (packet-in), which learns the answered
addresses (`answers`, `cache`), installs them into the rules' peers through the policy realizer
and only then sends the answer on to the pod (`interceptor`), so a pod never connects to a name
before its address is allowed."""
