"""What every long-running pyantrea program shares: logging, named tasks, health and metrics HTTP.

- ``pyantrea_daemon.logs``: JSON-lines logging (``setup_logging``, ``--log-level``).
- ``pyantrea_daemon.tasks``: ``Supervisor``, which names, watches and stops long-running tasks.
- ``pyantrea_daemon.health``: ``Readiness``, the named checks behind ``/readyz``.
- ``pyantrea_daemon.metrics``: ``Metrics``, a program's own Prometheus registry (``pyantrea_<program>_*``).
- ``pyantrea_daemon.http``: ``HttpServer`` with ``/livez``, ``/readyz``, ``/metrics`` and program routes.
- ``pyantrea_daemon.runner``: ``run``, the async main on uvloop, stopped by SIGTERM or SIGINT.

A program puts them together like this::

    async def agent_main(config: AgentConfig) -> None:
        readiness, metrics = Readiness(logger=log), Metrics("agent")
        server = HttpServer(host=str(config.api_bind_address), port=config.api_port,
                            readiness=readiness,
                            metrics=metrics if config.enable_prometheus_metrics else None, logger=log)
        server.add_json_route("GET", "/api/v1/podinterfaces", list_pod_interfaces)
        async with Supervisor(logger=log) as tasks, server:
            tasks.spawn(watch_controller(config), name="controller-watch")
            await tasks.wait()

    def main() -> None:
        parser = argparse.ArgumentParser(prog="pyantrea-agent", allow_abbrev=False)
        add_logging_flags(parser)
        add_config_flags(parser, AgentConfig)
        args = parser.parse_args()
        try:
            config = config_from_args(AgentConfig, args)
        except ConfigError as error:
            parser.error(str(error))  # prints the key and the reason, exits 2
        setup_logging(component="agent", node=config.node_name, level=args.log_level)
        sys.exit(run(agent_main(config), logger=log))
"""
