"""Configuration files of the agent and the controller: one schema, defaults and validation.

- ``config.schema``: how a schema is declared (``setting()``, ``section()``) and read back.
- ``config.kinds``: the value kinds a key can have and their parsers.
- ``config.agent`` / ``config.controller``: the two schemas, ``AgentConfig`` and ``ControllerConfig``.
- ``config.loader``: YAML document + flag overrides + environment → validated schema value.
- ``config.flags``: ``--config`` and one flag per key for a program's ``argparse`` parser.
- ``config.render``: the documented default YAML (for the manifests' ConfigMap) and a Markdown
  reference; ``python -m config.render agent|controller [--format markdown]``.

Every problem is a ``config.errors.ConfigError`` naming the key, the reason and the source.
"""
