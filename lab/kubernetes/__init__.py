"""The lab's Kubernetes control plane: the real etcd, kube-apiserver, kube-controller-manager and
kube-scheduler (built by scripts/build-kubernetes.sh), their certificates and kubeconfigs.

`binaries` finds the built programs, `pki` makes the CA, certificates and service-account keys,
`kubeconfigs` writes a kubeconfig per client, `components` builds each program's command line,
and `ControlPlane` (`controlplane`) starts them in order and waits until the API server is ready.
"""
