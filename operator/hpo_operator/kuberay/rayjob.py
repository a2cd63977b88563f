"""The RayJob a campaign runs as, and the ConfigMaps around it: pure builders returning dicts.

One RayJob per campaign. It owns its RayCluster (``rayClusterSpec``), so KubeRay creates the
cluster for the driver and tears it down when the driver ends (``shutdownAfterJobFinishes``). The
driver is the ordinary ``hpo run`` command; only its inputs differ from a laptop run: the manifest
comes from a mounted ConfigMap, experiment state goes to storage that outlives the head pod, and
progress goes to a ConfigMap the operator folds into the campaign's status.
"""

from __future__ import annotations

import shlex
from typing import Any

import yaml

from ..campaign.spec import Campaign, ClusterResources
from . import names, security
from .defaults import RAY_VERSION, ClusterDefaults
from .sizing import custom_resources_param

__all__ = ["RAY_VERSION", "ClusterDefaults", "build_manifest_configmap", "build_progress_configmap",
           "build_rayjob"]

GPU_RESOURCE = "nvidia.com/gpu"
STORAGE_VOLUME = "experiment-storage"
MANIFEST_VOLUME = "campaign-manifest"


def storage_path(campaign: Campaign, defaults: ClusterDefaults) -> str:
    return campaign.spec.storage.path or defaults.storage_path


def entrypoint(campaign: Campaign, defaults: ClusterDefaults, owner_uid: str | None = None) -> str:
    """The driver command. ``--address auto`` joins the RayJob's cluster instead of starting one."""
    meta = campaign.metadata
    progress = f"{meta.namespace}/{names.progress_configmap_name(meta.name)}"
    # The campaign object's uid: an experiment a deleted campaign of the same name left in the
    # storage is set aside, not resumed or reported as this campaign's result.
    instance = ["--instance", owner_uid] if owner_uid else []
    # KubeRay may submit before every worker's raylet has registered: a campaign must not be
    # judged unschedulable by the head alone.
    workers = campaign.spec.resources.cluster.workers
    wait = ["--wait-for-nodes", str(workers + 1)] if workers else []
    return shlex.join([
        "hpo", "run", f"{names.MANIFEST_DIR}/{names.MANIFEST_KEY}",
        "--storage", storage_path(campaign, defaults),
        "--progress-configmap", progress,
        "--address", "auto",
        # A failed campaign is a result, not a crash: KubeRay's retries are for crashed drivers.
        "--retry-only-on-crash",
        *wait,
        *instance,
    ])


def manifest_document(campaign: Campaign) -> dict[str, Any]:
    """The campaign as the driver reads it: the spec plus name and namespace, nothing cluster-made
    (no uid, no managedFields), so the same file also runs with ``hpo run`` on a laptop."""
    return {
        "apiVersion": campaign.api_version, "kind": campaign.kind,
        "metadata": {"name": campaign.metadata.name, "namespace": campaign.metadata.namespace},
        "spec": campaign.spec.model_dump(by_alias=True, exclude_none=True, mode="json"),
    }


def build_manifest_configmap(campaign: Campaign, owner_uid: str | None = None) -> dict[str, Any]:
    meta = campaign.metadata
    text = yaml.safe_dump(manifest_document(campaign), sort_keys=False)
    return {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": names.object_meta(names.manifest_configmap_name(meta.name), meta.namespace,
                                      meta.name, "manifest", owner_uid),
        "data": {names.MANIFEST_KEY: text},
    }


def build_progress_configmap(campaign: Campaign, owner_uid: str | None = None) -> dict[str, Any]:
    """Created empty by the operator so that it carries the owner reference; the driver fills it."""
    meta = campaign.metadata
    return {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": names.object_meta(names.progress_configmap_name(meta.name), meta.namespace,
                                      meta.name, "progress", owner_uid),
        "data": {},
    }


def build_rayjob(campaign: Campaign, defaults: ClusterDefaults,
                 owner_uid: str | None = None) -> dict[str, Any]:
    meta = campaign.metadata
    spec = campaign.spec
    cluster = spec.resources.cluster
    job_spec: dict[str, Any] = {
        "entrypoint": entrypoint(campaign, defaults, owner_uid),
        "runtimeEnvYAML": yaml.safe_dump({"env_vars": _driver_env(campaign, defaults)},
                                         sort_keys=True),
        "shutdownAfterJobFinishes": True,
        "ttlSecondsAfterFinished": defaults.ttl_seconds_after_finished,
        "backoffLimit": defaults.backoff_limit,
        "rayClusterSpec": {
            "rayVersion": defaults.ray_version,
            # Ray token authentication (KubeRay 1.5.1 or newer reads the campaign's token from
            # this Secret for its own calls to the dashboard, and makes no Secret of its own).
            "authOptions": security.auth_options(campaign),
            "headGroupSpec": _head_group(campaign, defaults),
            "workerGroupSpecs": [_worker_group(campaign, defaults)] if cluster.workers else [],
        },
        "submitterPodTemplate": _submitter(campaign, defaults),
    }
    if spec.budget.time_limit is not None:
        job_spec["activeDeadlineSeconds"] = (int(spec.budget.time_limit)
                                             + defaults.deadline_margin_seconds)
    return {
        "apiVersion": names.RAYJOB_API_VERSION, "kind": names.RAYJOB_KIND,
        "metadata": names.object_meta(names.rayjob_name(meta.name), meta.namespace, meta.name,
                                      "rayjob", owner_uid),
        "spec": job_spec,
    }


def _submitter(campaign: Campaign, defaults: ClusterDefaults) -> dict[str, Any]:
    """KubeRay's submitter pod (``ray job submit``), with the token the head requires and the
    campaign's labels, which its NetworkPolicy lets reach the head. Given a container without a
    command, KubeRay fills in the submit command itself."""
    image = campaign.spec.resources.cluster.image or defaults.image
    return {
        "metadata": {"labels": names.labels(campaign.metadata.name, "ray-submitter")},
        "spec": _restricted({
            "restartPolicy": "Never", "automountServiceAccountToken": False,
            "containers": [{"name": "ray-job-submitter", "image": image,
                            "env": security.auth_env(campaign),
                            "resources": {"requests": {"cpu": "500m", "memory": "256Mi"},
                                          "limits": {"cpu": "1", "memory": "1Gi"}}}],
        }, defaults)}


def _driver_env(campaign: Campaign, defaults: ClusterDefaults) -> dict[str, str]:
    # The image goes into the best trial's reproduction record (status.bestTrial.reproduce).
    env: dict[str, str] = {"HPO_IMAGE": campaign.spec.resources.cluster.image or defaults.image}
    if defaults.experiment_checkpoint_seconds is not None:
        env["TUNE_GLOBAL_CHECKPOINT_S"] = f"{defaults.experiment_checkpoint_seconds:g}"
    return env


def _tracking_env(campaign: Campaign) -> list[dict[str, Any]]:
    """The trackers' credentials, from the Secrets the spec names, for the driver on the head
    (MLflow logs from the driver; W&B's logging actors run on its node and get the key from it)."""
    tracking = campaign.spec.tracking
    refs = [("MLFLOW_TRACKING_TOKEN", tracking.mlflow and tracking.mlflow.token_secret),
            ("WANDB_API_KEY", tracking.wandb and tracking.wandb.api_key_secret)]
    return [{"name": variable, "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}}
            for variable, ref in refs if ref is not None]


def _head_group(campaign: Campaign, defaults: ClusterDefaults) -> dict[str, Any]:
    cluster = campaign.spec.resources.cluster
    start_params = {"dashboard-host": "0.0.0.0"}
    if cluster.workers:
        start_params["num-cpus"] = "0"  # trials go to the workers; the head keeps the driver
    else:
        start_params.update(custom_resources_param(cluster))
    resources = {"cpu": _quantity(cluster.head_cpus), "memory": cluster.head_memory}
    container = {
        "name": "ray-head", "image": cluster.image or defaults.image,
        "env": security.auth_env(campaign) + _tracking_env(campaign),
        "ports": [{"containerPort": 6379, "name": "gcs"}, {"containerPort": names.DASHBOARD_PORT,
                                                        "name": "dashboard"},
                  {"containerPort": 10001, "name": "client"}],
        "resources": {"requests": dict(resources), "limits": dict(resources)},
        "volumeMounts": [{"name": MANIFEST_VOLUME, "mountPath": names.MANIFEST_DIR, "readOnly": True},
                         *_storage_mounts(campaign, defaults)],
    }
    pod: dict[str, Any] = {
        # The campaign's own account, whose one right is its progress ConfigMap: the driver,
        # which runs here, publishes progress with it.
        "serviceAccountName": names.driver_account_name(campaign.metadata.name),
        "automountServiceAccountToken": True,
        "containers": [container],
        "volumes": [{"name": MANIFEST_VOLUME, "configMap": {
                        "name": names.manifest_configmap_name(campaign.metadata.name)}},
                    *_storage_volumes(campaign)],
    }
    if not cluster.workers:  # the head runs the trials too, so it goes where trials may run
        pod.update(_placement(cluster))
    return {"rayStartParams": start_params, "template": {
        "metadata": {"labels": names.labels(campaign.metadata.name, "ray-head")},
        "spec": _restricted(pod, defaults)}}


def _worker_group(campaign: Campaign, defaults: ClusterDefaults) -> dict[str, Any]:
    cluster = campaign.spec.resources.cluster
    requests = {"cpu": _quantity(cluster.cpus_per_worker), "memory": cluster.memory_per_worker}
    limits = dict(requests)
    if cluster.gpus_per_worker:
        limits[GPU_RESOURCE] = str(cluster.gpus_per_worker)  # KubeRay reads num-gpus from here
    container = {
        "name": "ray-worker", "image": cluster.image or defaults.image,
        "env": security.auth_env(campaign),
        "resources": {"requests": requests, "limits": limits},
        "volumeMounts": _storage_mounts(campaign, defaults),
    }
    # Trials need no Kubernetes API: no service-account token in their pods.
    pod: dict[str, Any] = {"automountServiceAccountToken": False, "containers": [container],
                           "volumes": _storage_volumes(campaign), **_placement(cluster)}
    return {
        "groupName": "gpu-workers" if cluster.gpus_per_worker else "workers",
        "replicas": cluster.workers, "minReplicas": cluster.workers,
        "maxReplicas": cluster.workers, "rayStartParams": custom_resources_param(cluster),
        "template": {"metadata": {"labels": names.labels(campaign.metadata.name, "ray-worker")},
                     "spec": _restricted(pod, defaults)},
    }


def _restricted(pod: dict[str, Any], defaults: ClusterDefaults) -> dict[str, Any]:
    """``pod`` with the 'restricted' Pod Security settings, when the installation asks for them."""
    if defaults.run_as_user is None:
        return pod
    pod["securityContext"] = {"runAsNonRoot": True, "runAsUser": defaults.run_as_user,
                              "seccompProfile": {"type": "RuntimeDefault"}}
    for container in pod["containers"]:
        container["securityContext"] = {"allowPrivilegeEscalation": False,
                                        "capabilities": {"drop": ["ALL"]}}
    return pod


def _placement(cluster: ClusterResources) -> dict[str, Any]:
    placement: dict[str, Any] = {}
    if cluster.node_selector:
        placement["nodeSelector"] = dict(cluster.node_selector)
    if cluster.tolerations:
        placement["tolerations"] = [t.model_dump(by_alias=True, exclude_none=True)
                                    for t in cluster.tolerations]
    return placement


def _storage_volumes(campaign: Campaign) -> list[dict[str, Any]]:
    storage = campaign.spec.storage
    if storage.volume_claim:
        return [{"name": STORAGE_VOLUME,
                 "persistentVolumeClaim": {"claimName": storage.volume_claim}}]
    # No claim: each pod's own scratch, lost with the pod and on a KubeRay retry (a new cluster),
    # and not shared, so trials on worker pods cannot save checkpoints (PBT, checkpoint.frequency).
    return [{"name": STORAGE_VOLUME, "emptyDir": {}}]


def _storage_mounts(campaign: Campaign, defaults: ClusterDefaults) -> list[dict[str, Any]]:
    return [{"name": STORAGE_VOLUME, "mountPath": storage_path(campaign, defaults)}]


def _quantity(cpus: float) -> str:
    """CPU count as a Kubernetes quantity: whole numbers plain, fractions in millicores."""
    return str(int(cpus)) if float(cpus).is_integer() else f"{int(round(cpus * 1000))}m"
