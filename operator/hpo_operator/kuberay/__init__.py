"""The KubeRay backend as pure functions: the objects a campaign gets on Kubernetes, as plain dicts.

Nothing here talks to a cluster or imports kopf or the Kubernetes client, so ``hpo render`` and the
tests use the very builders the operator uses.
"""
