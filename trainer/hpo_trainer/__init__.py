"""hpo_trainer: the example workload of hpo-operator, a CGCNN on adsorption energies.

The campaign manifest names the Ray Tune trainable as ``hpo_trainer.cgcnn:CGCNNTrainable``.
Modules, from the bottom up (only :mod:`hpo_trainer.cgcnn` imports Ray):

* :mod:`hpo_trainer.data` — EMT-generated and user data sets (ASE db / extended XYZ), cached;
* :mod:`hpo_trainer.features` — periodic crystal graphs, built once per process and cached;
* :mod:`hpo_trainer.model` — the CGCNN model (``torch_geometric.nn.CGConv``);
* :mod:`hpo_trainer.batching` — graphs placed on the device once, batches gathered there;
* :mod:`hpo_trainer.loops` — one training epoch and one evaluation pass;
* :mod:`hpo_trainer.config` — the trial config keys, defaults and checks;
* :mod:`hpo_trainer.memory` — the memory a config needs, estimated before allocating;
* :mod:`hpo_trainer.results` — a step's result; the finite value a diverged step reports;
* :mod:`hpo_trainer.session` — data split, model, optimiser, checkpoints; ``train()``;
* :mod:`hpo_trainer.cgcnn` — the Tune class trainable.

Importing this package imports nothing heavy; torch and Ray load with the modules that need them.
"""

__version__ = "0.1.0"
