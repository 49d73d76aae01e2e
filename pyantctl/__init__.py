"""pyantctl: the pyantrea command line (get, trace, lab)."""
