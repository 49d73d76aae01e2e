"""What tests/ and bench/ share: fixtures and test doubles of real components, one module each.

- `names`: names unique to the test process.
- `ovs`: the `namespace`, `ovs` and `module_ovs` fixtures (real Open vSwitch in a namespace).
- `cninode`: a node wired as the agent wires it for CNI: bridge, pipeline, `CniServer`.
- `cniruntime`: what a container runtime does with the CNI plugin.

Product code never imports this package (an import-linter contract in pyproject.toml).
"""
