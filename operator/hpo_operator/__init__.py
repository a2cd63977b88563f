"""hpo-operator: HPOCampaign manifests run as Ray Tune experiments on KubeRay, Slurm or local Ray."""

__version__ = "0.1.0"
