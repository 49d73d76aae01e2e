"""The controller's dashboard: its JSON documents (`views`), the cluster-wide trace (`trace`),
and the page with its live event stream (`routes`, `static/`)."""
