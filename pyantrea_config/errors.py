"""The one exception for configuration problems: it names the key, why it is wrong and where it came from."""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value that cannot be used.

    ``key`` is the dotted key (``flowExport.collectorAddress``) or None for a problem with the
    whole document; ``source`` says where the value came from (a file, a flag, an environment
    variable) when known.
    """

    def __init__(self, key: str | None, reason: str, *, source: str | None = None) -> None:
        self.key = key
        self.reason = reason
        self.source = source
        super().__init__(key, reason, source)

    def __str__(self) -> str:
        parts = [part for part in (self.source, self.key, self.reason) if part]
        return ": ".join(parts)

    def within(self, section: str) -> ConfigError:
        """The same error for a key one section deeper: ``sampling`` → ``flowExport.sampling``."""
        key = section if self.key is None else f"{section}.{self.key}"
        return ConfigError(key, self.reason, source=self.source)

    def from_source(self, source: str) -> ConfigError:
        """The same error, attributed to ``source`` unless it already names one."""
        return ConfigError(self.key, self.reason, source=self.source or source)
