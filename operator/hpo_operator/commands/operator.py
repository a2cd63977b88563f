"""``hpo operator``: run the Kubernetes operator (kopf) in the foreground, as the chart's pod does."""

from __future__ import annotations

import argparse
import os
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("operator", help="run the HPOCampaign operator against the current "
                                        "Kubernetes context (in-cluster or kubeconfig)")
    p.add_argument("-n", "--namespace", action="append", default=[], metavar="NS",
                   help="watch this namespace (repeatable); default: $HPO_NAMESPACES, "
                        "else the whole cluster")
    p.add_argument("--liveness", metavar="URL", default=None,
                   help="serve kopf's liveness probe, e.g. http://0.0.0.0:8080/healthz")
    p.set_defaults(func=operator)


def operator(args: argparse.Namespace) -> int:
    problem = kube_config_problem()
    if problem is not None:
        # kopf would retry its login forever, logging tracebacks and a hint about client libraries
        print(f"hpo operator: no Kubernetes configuration: set KUBECONFIG or run in a cluster "
              f"({problem})", file=sys.stderr)
        return 1
    import kopf

    from ..controller import handlers  # noqa: F401  (registers the handlers with kopf)
    from ..controller.settings import OperatorSettings

    namespaces = args.namespace or list(OperatorSettings.from_env().namespaces)
    # standalone: one operator per scope, so no peering objects (and no RBAC for them).
    kopf.run(standalone=True, clusterwide=not namespaces, namespaces=namespaces,
             liveness_endpoint=args.liveness)
    return 0


def kube_config_problem() -> str | None:
    """Why no Kubernetes credentials load, tried the way the operator's client tries them
    (in-cluster, then the kubeconfig); None when they do."""
    import yaml
    from kubernetes import config

    try:
        config.load_incluster_config()
        return None
    except config.ConfigException as exc:
        in_cluster = f"not in a cluster: {str(exc).rstrip('.')}"
    kubeconfig = os.environ.get("KUBECONFIG") or config.KUBE_CONFIG_DEFAULT_LOCATION
    if not any(os.path.exists(os.path.expanduser(p)) for p in kubeconfig.split(os.pathsep)):
        return f"{in_cluster}; no kubeconfig at {kubeconfig}"
    try:
        config.load_kube_config()
        return None
    except config.ConfigException as exc:
        problem = str(exc).rstrip(".")
    except yaml.YAMLError:
        problem = "not valid YAML"
    except OSError as exc:
        problem = exc.strerror or str(exc)
    return f"{in_cluster}; kubeconfig {kubeconfig}: {problem}"
