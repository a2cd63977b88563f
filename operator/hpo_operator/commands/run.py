"""``hpo run MANIFEST``: run a campaign to the end on embedded local Ray (or a given cluster)."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys

from ..campaign.experiment import interrupted
from ..campaign.progress import ConsoleSink, JsonFileSink, ProgressSink
from ..campaign.status import CampaignStatus, Phase
from . import CAMPAIGN_FAILED, INVALID_MANIFEST, OK, load_or_report, trial_summary
from .home import ensure_writable_home

DEFAULT_STORAGE = "runs"
INTERRUPTED_EXIT = 130  # as a shell reports a process ended by SIGINT
DNS_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run an HPOCampaign manifest on local Ray")
    p.add_argument("manifest", metavar="MANIFEST", help="the HPOCampaign YAML file to run")
    p.add_argument("--status-file", help="write the final status (the CR's .status schema) here")
    p.add_argument("--storage", default=os.environ.get("HPO_STORAGE", DEFAULT_STORAGE),
                   help="directory for experiment state, logs and TensorBoard files "
                        "(default: $HPO_STORAGE or ./runs)")
    p.add_argument("--address", default=os.environ.get("HPO_RAY_ADDRESS"),
                   help="Ray cluster to join (default: start an embedded local Ray)")
    p.add_argument("--interval", type=float, default=2.0,
                   help="seconds between progress writes (default 2)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on the terminal")
    p.add_argument("--metrics-port", type=int, metavar="PORT",
                   help="serve the driver's Prometheus metrics on this port (0: any free port)")
    p.add_argument("--retry-only-on-crash", action="store_true",
                   help="exit 0 once the campaign has a final result, even a failed one, and "
                        "never rerun a finished campaign: a job retry policy (a RayJob's "
                        "backoffLimit) then reruns crashed drivers only")
    p.add_argument("--instance", metavar="ID",
                   help="identity of this campaign object (the operator passes its uid): an "
                        "experiment of the same name left in the storage by another object is "
                        "set aside, never resumed or reported as this one's")
    p.add_argument("--wait-for-nodes", type=int, default=1, metavar="N",
                   help="on a cluster whose workers may still be joining: wait for N Ray nodes "
                        "(head included) before checking that a trial fits (default 1)")
    p.add_argument("--wait-for-nodes-timeout", type=float, default=300.0, metavar="SECONDS",
                   help="how long to wait for them before going on with the nodes there are "
                        "(default 300)")
    p.add_argument("--progress-configmap", metavar="NAMESPACE/NAME", type=configmap_target,
                   help="also publish progress to this ConfigMap (the driver of a RayJob)")
    p.set_defaults(func=run)


def configmap_target(text: str) -> tuple[str, str]:
    """``NAMESPACE/NAME`` -> (namespace, name), checked before anything starts."""
    namespace, sep, name = text.partition("/")
    if not (sep and DNS_NAME.fullmatch(namespace) and DNS_NAME.fullmatch(name)):
        raise argparse.ArgumentTypeError(
            f"expected NAMESPACE/NAME (two Kubernetes names, lower-case), got {text!r}")
    return namespace, name


def run(args: argparse.Namespace) -> int:
    campaign = load_or_report(args.manifest)
    if campaign is None:
        return INVALID_MANIFEST
    if args.address is None and "ray" not in sys.modules:
        # The embedded cluster keeps Ray's default, token authentication; choosing it before Ray
        # reads its configuration spares every run Ray's notice that it was chosen.
        os.environ.setdefault("RAY_AUTH_MODE", "token")
    unwritable = os.environ.get("HOME") or "(unset)"
    if (home := ensure_writable_home()) is not None:
        print(f"hpo run: HOME {unwritable} is not writable; using {home} for Ray's session "
              "token and the data set cache", file=sys.stderr)
    from ..driver.run import run_campaign  # imports Ray: only once valid

    sinks: list[ProgressSink] = [] if args.quiet else [ConsoleSink()]
    if args.status_file:
        sinks.append(JsonFileSink(args.status_file))
    if args.metrics_port is not None:
        from ..driver.prometheus_sink import PrometheusSink

        metrics = PrometheusSink(campaign.metadata.name, args.metrics_port)
        print(f"driver metrics on http://localhost:{metrics.port}/metrics", file=sys.stderr)
        sinks.append(metrics)
    if args.progress_configmap:
        from ..driver.configmap_sink import ConfigMapSink

        namespace, name = args.progress_configmap
        sinks.append(ConfigMapSink(namespace, name, campaign.metadata.name, args.instance))
    status = run_campaign(campaign, args.storage, sinks, address=args.address,
                          publish_interval=args.interval,
                          rerun_finished=not args.retry_only_on_crash, instance=args.instance,
                          expect_nodes=args.wait_for_nodes,
                          nodes_timeout=args.wait_for_nodes_timeout)
    print_summary(status)
    if interrupted(status):
        return INTERRUPTED_EXIT  # not a final result: a retry resumes it
    return OK if status.phase is Phase.SUCCEEDED or args.retry_only_on_crash else CAMPAIGN_FAILED


def print_summary(status: CampaignStatus) -> None:
    print(f"\ncampaign {status.phase.value}: {status.message or ''}")
    print("\n".join(trial_summary(status)))
    if status.best_trial is not None:
        print("  best configuration:")
        print("    " + json.dumps(status.best_trial.config, indent=2,
                                  sort_keys=True).replace("\n", "\n    "))
    if status.experiment_path:
        print(f"  experiment: {status.experiment_path}  (tensorboard --logdir {status.experiment_path})")
