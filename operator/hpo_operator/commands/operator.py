"""``hpo operator``: run the Kubernetes operator (kopf) in the foreground, as the chart's pod does."""

from __future__ import annotations

import argparse
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
    from .. import kube

    try:
        kube.load_credentials()
    except kube.CredentialsError as exc:
        # kopf would retry its login forever, logging tracebacks and a hint about client libraries
        print(f"hpo operator: no Kubernetes configuration: set KUBECONFIG or run in a cluster "
              f"({exc})", file=sys.stderr)
        return 1
    import kopf

    from ..controller import handlers  # noqa: F401  (registers the handlers with kopf)
    from ..controller.settings import OperatorSettings

    namespaces = args.namespace or list(OperatorSettings.from_env().namespaces)
    # standalone: one operator per scope, so no peering objects (and no RBAC for them).
    kopf.run(standalone=True, clusterwide=not namespaces, namespaces=namespaces,
             liveness_endpoint=args.liveness)
    return 0
