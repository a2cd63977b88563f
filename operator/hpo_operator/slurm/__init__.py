"""The Slurm backend: a batch script that starts a Ray head and workers on the allocation, then the
campaign driver; submitted, watched and cancelled with the ``hpo`` CLI.

Modules: :mod:`.options` (the command-line knobs, Slurm time formats), :mod:`.script` (renders the
batch script from ``templates/campaign.sbatch``), :mod:`.jobs` (sbatch/scontrol/scancel and the job
record), :mod:`.finalize` (the status a failed job leaves behind) and :mod:`.waitnodes` (waits for
the Ray workers to join). ``scripts/start-head.sh`` and ``scripts/start-worker.sh`` are the shell
halves; the repository's top-level ``slurm/`` folder links to them.
"""
