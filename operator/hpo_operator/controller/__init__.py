"""The kopf operator: thin handlers (``handlers``) over a pure status fold (``reconcile``), one
Kubernetes client module (``kube``), settings read once (``settings``) and metrics (``metrics``)."""
