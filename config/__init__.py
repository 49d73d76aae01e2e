"""Configuration files of the agent and the controller: one schema, defaults and validation."""
