"""The Kubernetes manifests: `manifests/pyantrea.yml`, generated from `manifests/base/` and the code.

- ``manifests.configmap``: the ``pyantrea-config`` ConfigMap (both programs' configuration files
  rendered from their schemas, and the CNI conflist).
- ``manifests.generate``: ``python -m manifests.generate [--check] [--image REF]`` writes or checks
  ``pyantrea.yml``.
"""
