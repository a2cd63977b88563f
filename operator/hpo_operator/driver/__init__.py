"""The campaign driver: runs one campaign on whatever Ray cluster it is given.

Every backend ends here: ``hpo run`` on embedded local Ray, the RayJob entrypoint on KubeRay, the
batch script on Slurm. :func:`.run.run_campaign` tells the story of a run; the experiment
directory (:mod:`hpo_operator.campaign.experiment`), the Tuner (:mod:`.tuner`), Tune's events
(:mod:`.events`), the Ray cluster (:mod:`.cluster`), stop signals (:mod:`.signals`) and the
outcome (:mod:`.outcome`) each have a module. The driver-side sinks live here too. Importing this
package imports no Ray.
"""
