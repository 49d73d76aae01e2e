"""Looking into the agent: heartbeats to the controller, the local API's flows and traces
(`ofproto/trace` explained in pyantrea's terms), and Open vSwitch's own flow export."""
