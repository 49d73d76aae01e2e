"""The versioned store: compute changes in, numbered events out, viewed per node.

`versioned.Store` applies changes and keeps the current objects for `snapshot(node)`;
`events` holds the events and their per-node views; `spanindex` finds a node's objects.
"""
