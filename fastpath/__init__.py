"""The fast path: flow model, flow diff engine and OpenFlow 1.5 encoding (Cython)."""
