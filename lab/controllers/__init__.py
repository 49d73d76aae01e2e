"""The lab's kube-controller-manager and kube-scheduler roles, in one small process.

The scheduler binds pods that name no node; the Deployment controller makes and removes a
Deployment's pods and reports its status; pods of a deleted Deployment are deleted. Run as
`python -m lab.controllers`.
"""
