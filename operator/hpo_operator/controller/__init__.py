"""The kopf operator: thin handlers (``handlers``) over a pure status fold (``reconcile``),
settings read once (``settings``) and metrics (``metrics``); it reaches Kubernetes through
:mod:`hpo_operator.kube`, the one client module, which the driver's progress sink shares."""
