"""Configuration files of the agent and the controller: one schema, defaults and validation.

- ``pyantrea_config.schema``: how a schema is declared (``setting()``, ``section()``) and read back.
- ``pyantrea_config.kinds``: the value kinds a key can have and their parsers.
- ``pyantrea_config.agent`` / ``pyantrea_config.controller``: the two schemas, ``AgentConfig`` and
  ``ControllerConfig``.
- ``pyantrea_config.loader``: YAML document + flag overrides + environment → validated schema value.
- ``pyantrea_config.flags``: ``--config`` and one flag per key for a program's ``argparse`` parser.
- ``pyantrea_config.render``: the documented default YAML (for the manifests' ConfigMap) and a Markdown
  reference; ``python -m config.render agent|controller [--format markdown]``.

Every problem is a ``pyantrea_config.errors.ConfigError`` naming the key, the reason and the source.
"""
