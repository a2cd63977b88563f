"""Hypothesis strategies for HPOCampaign manifests within and at the spec model's bounds.

Every factory is cached: hypothesis validates a strategy when it is first drawn from, which is slow
for one made afresh for each draw.

Every limit comes from ``hpo_operator.campaign.spec.bounds`` (and the grammars of ``spec.k8s``),
so that a bound that moves moves the generated manifests with it. Values are drawn from the whole
range and, as often, at its ends: a bound that renders into an invalid object shows at the bound.
"""

from __future__ import annotations

import functools
import string
from typing import Any

from hypothesis import strategies as st

from hpo_operator.campaign.spec import bounds
from hpo_operator.campaign.spec.k8s import RESERVED_MOUNT_PATHS, SYSTEM_DIRECTORIES

LOWER_ALNUM = string.ascii_lowercase + string.digits
ALNUM = string.ascii_letters + string.digits


@functools.cache
def ints(low: int, high: int) -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from([low, high]), st.integers(low, high))


@functools.cache
def floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.one_of(st.sampled_from([low, high]),
                     st.floats(low, high, allow_nan=False, allow_infinity=False))


@functools.cache
@st.composite
def word(draw: Any, ends: str, middle: str, max_size: int, min_size: int = 1) -> str:
    """``ends`` characters at both ends, ``middle`` ones between: DNS labels, label names."""
    size = draw(ints(min_size, max_size))
    end = _chars(ends)
    if size == 1:
        return draw(end)
    return draw(end) + draw(_text(middle, size - 2)) + draw(end)


@functools.cache
def _chars(alphabet: str) -> st.SearchStrategy[str]:
    return st.sampled_from(alphabet)


@functools.cache
def _text(alphabet: str, size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet, min_size=size, max_size=size)


@functools.cache
def dns_label(max_size: int = bounds.MAX_DNS_LABEL) -> st.SearchStrategy[str]:
    return word(LOWER_ALNUM, LOWER_ALNUM + "-", max_size)


@functools.cache
@st.composite
def dns_subdomain(draw: Any, max_size: int = bounds.MAX_DNS_SUBDOMAIN) -> str:
    if draw(st.booleans()):  # at the bound: 63-character labels up to 253 characters
        labels = [draw(dns_label(63)) for _ in range(3)] + [draw(dns_label(max_size - 3 * 64))]
        return ".".join(labels)
    return ".".join(draw(st.lists(dns_label(20), min_size=1, max_size=4)))


@functools.cache
def label_name() -> st.SearchStrategy[str]:
    return word(ALNUM, ALNUM + "-_.", bounds.MAX_DNS_LABEL)


@functools.cache
@st.composite
def label_key(draw: Any) -> str:
    prefix = draw(st.one_of(st.none(), dns_subdomain()))
    return (prefix + "/" if prefix else "") + draw(label_name())


@functools.cache
def label_value() -> st.SearchStrategy[str]:
    return st.one_of(st.just(""), label_name())


@functools.cache
@st.composite
def path_component(draw: Any) -> str:
    """Lower-case alphanumerics joined by separators ('.', '_', '__' or dashes)."""
    parts = draw(st.lists(st.text(LOWER_ALNUM, min_size=1, max_size=12), min_size=1, max_size=3))
    separators = draw(st.lists(st.sampled_from([".", "_", "__", "-", "---"]),
                               min_size=len(parts) - 1, max_size=len(parts) - 1))
    return parts[0] + "".join(s + p for s, p in zip(separators, parts[1:]))


@functools.cache
@st.composite
def image(draw: Any) -> str:
    """An OCI reference: [domain[:port]/]path[:tag][@digest], repository name at most 255."""
    component = path_component()
    domain = draw(st.one_of(st.none(), st.sampled_from(
        ["registry.example", "localhost:5000", "ghcr.io", "[::1]:5000", "Registry.Example"])))
    path = draw(st.lists(component, min_size=1, max_size=6))
    name = "/".join(([domain] if domain else []) + path)
    if draw(st.booleans()):
        name = (name + "/" + "n" * 255)[:255].rstrip("/._-")
    tag = draw(st.one_of(st.none(), word(ALNUM + "_", ALNUM + "_.-", 128)))
    digest = draw(st.one_of(st.none(), st.text("0123456789abcdef", min_size=64, max_size=64)))
    return name + (f":{tag}" if tag else "") + (f"@sha256:{digest}" if digest else "")


@functools.cache
@st.composite
def storage_path(draw: Any) -> str:
    segment = st.text(ALNUM + "._+@=,-", min_size=1, max_size=40).filter(
        lambda s: s not in (".", ".."))
    first = draw(segment.filter(lambda s: s not in SYSTEM_DIRECTORIES))
    parts = [first, *draw(st.lists(segment, max_size=6))]
    path = "/" + "/".join(parts)
    if draw(st.booleans()):
        path = (path + "/" + "d" * bounds.MAX_STORAGE_PATH)[:bounds.MAX_STORAGE_PATH]
    return path.rstrip("/") if not any(
        path == r or r.startswith(path + "/") or path.startswith(r + "/")
        for r in RESERVED_MOUNT_PATHS) else "/var/hpo/runs"


@functools.cache
@st.composite
def memory(draw: Any) -> str:
    unit, low, high = draw(st.sampled_from([
        ("", bounds.MIN_MEMORY_BYTES, bounds.MAX_MEMORY_BYTES), ("Mi", 1, 64 * 2**20),
        ("Gi", 1, 65_536), ("Ti", 1, 64), ("M", 2, 70_000_000), ("G", 1, 70_000)]))
    number = draw(ints(low, high))
    fraction = draw(st.sampled_from(["", ".5", ".125"])) if number < high else ""
    return f"{number}{fraction}{unit}"


@functools.cache
@st.composite
def toleration(draw: Any) -> dict[str, Any]:
    key = draw(st.one_of(st.none(), label_key()))
    operator = "Exists" if key is None else draw(st.sampled_from([None, "Exists", "Equal"]))
    effect = draw(st.sampled_from([None, "NoSchedule", "PreferNoSchedule", "NoExecute"]))
    out: dict[str, Any] = {"key": key, "operator": operator, "effect": effect}
    if operator != "Exists":
        out["value"] = draw(st.one_of(st.none(), label_value()))
    if effect == "NoExecute":
        out["tolerationSeconds"] = draw(st.one_of(st.none(), ints(bounds.INT64_MIN,
                                                                  bounds.INT64_MAX)))
    return {k: v for k, v in out.items() if v is not None}


@functools.cache
def scalar() -> st.SearchStrategy[Any]:
    text = st.one_of(st.text(max_size=16).filter(lambda s: s.isprintable()),
                     st.just("😀" * (bounds.MAX_CHOICE_BYTES // 4)),
                     st.just("s" * bounds.MAX_CHOICE_BYTES))
    return st.one_of(st.booleans(), ints(bounds.INT64_MIN, bounds.INT64_MAX),
                     st.floats(allow_nan=False, allow_infinity=False), text)


@functools.cache
def config() -> st.SearchStrategy[dict[str, Any]]:
    leaves = st.one_of(st.none(), scalar(), st.text(max_size=40))
    tree = st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
        max_leaves=24)
    big = st.just({"blob": "b" * (bounds.MAX_CONFIG_BYTES - 64)})
    return st.one_of(st.dictionaries(st.text(max_size=bounds.MAX_CONFIG_KEY_LENGTH), tree,
                                     max_size=6), big)


@functools.cache
@st.composite
def leaf_parameter(draw: Any) -> dict[str, Any]:
    kind = draw(st.sampled_from(["float", "int", "choice", "grid", "normal"]))
    m = bounds.MAX_PARAMETER_MAGNITUDE
    if kind in ("choice", "grid"):
        values = draw(st.lists(scalar(), min_size=1, max_size=8, unique_by=repr))
        return {"type": kind, "values": values}
    if kind == "normal":
        return {"type": "normal", "mean": draw(floats(-m, m)), "sd": draw(floats(1e-300, m))}
    low = draw(ints(-m, m - 1) if kind == "int" else floats(-m, m / 2))
    high = draw(ints(low + 1, m) if kind == "int" else floats(low + abs(low) / 2 + 1, m))
    return {"type": kind, "min": low, "max": high}


@functools.cache
@st.composite
def parameter(draw: Any) -> dict[str, Any]:
    if draw(st.integers(0, 5)) == 0:  # now and then a nested one
        inner = draw(st.dictionaries(st.sampled_from(["a", "b_c", "d.e"]), leaf_parameter(),
                                     min_size=1, max_size=3))
        return {"type": "nested", "params": inner}
    return draw(leaf_parameter())


@functools.cache
@st.composite
def largest_search_space(draw: Any) -> dict[str, Any]:
    """As many parameters as allowed, with the longest names, some of them choices with as many
    of the longest values as allowed: near the spec's own size bound."""
    lists = draw(st.integers(1, 6))
    space = {}
    for i in range(bounds.MAX_PARAMETERS):
        name = f"p{i:02d}" + "_" * (bounds.MAX_NAME_LENGTH - 3)
        space[name] = {"type": "choice", "values": [
            f"{j:03d}" + "x" * (bounds.MAX_CHOICE_BYTES - 3)
            for j in range(bounds.MAX_CHOICES)]} if i < lists else draw(parameter())
    return space


@functools.cache
def search_space() -> st.SearchStrategy[dict[str, Any]]:
    name = st.one_of(word(string.ascii_letters + "_", ALNUM + "_.-", bounds.MAX_NAME_LENGTH),
                     st.sampled_from(["lr", "x", "batch_size"]))
    return st.one_of(st.dictionaries(name, parameter(), min_size=1,
                                     max_size=bounds.MAX_PARAMETERS), largest_search_space())


@functools.cache
@st.composite
def time_limit(draw: Any) -> int | str | None:
    seconds = draw(ints(1, bounds.MAX_TIME_LIMIT_SECONDS))
    form = draw(st.sampled_from(["none", "int", "s", "m", "h", "hms"]))
    if form == "none":
        return None
    if form == "int":
        return seconds
    if form == "hms":
        return f"{seconds // 3600}h{seconds % 3600 // 60}m{seconds % 60}s"
    unit = {"s": 1, "m": 60, "h": 3600}[form]
    return f"{max(1, seconds // unit)}{form}"


@functools.cache
def resource_name() -> st.SearchStrategy[str]:
    reserved = ("cpu", "gpu", "memory", "object_store_memory")
    return word(string.ascii_letters + "_", ALNUM + "_.-", bounds.MAX_RESOURCE_NAME).filter(
        lambda name: name.lower() not in reserved and "_group_" not in name)


@functools.cache
def custom_resources() -> st.SearchStrategy[dict[str, float]]:
    amount = floats(bounds.MIN_TRIAL_CPUS, bounds.MAX_CUSTOM_AMOUNT)
    return st.dictionaries(resource_name(), amount, max_size=bounds.MAX_CUSTOM_RESOURCES)


@functools.cache
@st.composite
def secret_ref(draw: Any) -> dict[str, str]:
    prefix = "hpo-tracking-"
    name = prefix + draw(dns_subdomain(bounds.MAX_DNS_SUBDOMAIN - len(prefix)))
    return {"name": name, "key": draw(word(ALNUM, ALNUM + "-._", bounds.MAX_SECRET_KEY))}


@functools.cache
@st.composite
def tracking(draw: Any) -> dict[str, Any]:
    name = word(ALNUM + "_", ALNUM + "_. -", bounds.MAX_TRACKING_NAME)
    host = draw(word(LOWER_ALNUM, LOWER_ALNUM + ".-", 63))
    uri = f"https://{host}/" + draw(_text(ALNUM + "/-_.~%?=&",
                                          bounds.MAX_TRACKING_URI - len(host) - 9))
    return {"mlflow": {"trackingUri": uri, "experimentName": draw(name),
                       "tokenSecret": draw(secret_ref())},
            "wandb": {"project": draw(name), "mode": draw(st.sampled_from(["online", "offline"])),
                      "apiKeySecret": draw(secret_ref())}}


@functools.cache
@st.composite
def cluster(draw: Any) -> dict[str, Any]:
    out = {
        "workers": draw(ints(0, bounds.MAX_WORKERS)),
        "cpusPerWorker": draw(floats(bounds.MIN_POD_CPUS, bounds.MAX_CPUS)),
        "gpusPerWorker": draw(ints(0, bounds.MAX_GPUS)),
        "memoryPerWorker": draw(memory()),
        "headCpus": draw(floats(bounds.MIN_POD_CPUS, bounds.MAX_CPUS)),
        "headMemory": draw(memory()),
        "nodeSelector": draw(st.dictionaries(label_key(), label_value(),
                                             max_size=bounds.MAX_NODE_SELECTOR)),
        "tolerations": draw(st.lists(toleration(), max_size=bounds.MAX_TOLERATIONS)),
        "customPerWorker": draw(custom_resources()),
    }
    if draw(st.booleans()):
        out["image"] = draw(image())
    return out


@functools.cache
@st.composite
def manifest(draw: Any) -> dict[str, Any]:
    """A manifest within the bounds; nearly always valid (the few the rules refuse are skipped
    by the property, which holds for what validation accepts)."""
    cap = draw(ints(1, bounds.MAX_ITERATIONS))
    scheduler = draw(st.sampled_from([
        {"type": "fifo"},
        {"type": "asha", "maxT": cap, "gracePeriod": 1,
         "reductionFactor": draw(floats(1.5, bounds.MAX_REDUCTION_FACTOR))}]))
    if scheduler["type"] == "asha" and cap < 2:
        scheduler = {"type": "fifo"}
    storage: dict[str, Any] = {}
    if draw(st.booleans()):
        storage["path"] = draw(storage_path())
    if draw(st.booleans()):
        storage["volumeClaim"] = draw(dns_subdomain())
    nodes = draw(cluster())
    if draw(st.integers(0, 9)):  # mostly trials that fit a node (Slurm refuses the others)
        per_trial = {"cpu": draw(floats(bounds.MIN_TRIAL_CPUS, max(1.0, nodes["cpusPerWorker"]))),
                     "gpu": draw(floats(0, nodes["gpusPerWorker"])), "memory": draw(memory()),
                     "custom": {name: draw(floats(bounds.MIN_TRIAL_CPUS, amount))
                                for name, amount in nodes["customPerWorker"].items()}}
    else:
        per_trial = {"cpu": draw(floats(bounds.MIN_TRIAL_CPUS, bounds.MAX_CPUS)),
                     "gpu": draw(floats(0, bounds.MAX_GPUS))}
    budget: dict[str, Any] = {"trials": draw(ints(1, bounds.MAX_TRIALS)),
                              "maxIterationsPerTrial": cap}
    limit = draw(time_limit())
    if limit is not None:
        budget["timeLimit"] = limit
    if draw(st.booleans()):
        budget["cpuHours"] = draw(floats(1e-9, bounds.MAX_RESOURCE_HOURS))
    if per_trial["gpu"] > 0 and draw(st.booleans()):
        budget["gpuHours"] = draw(floats(1e-9, bounds.MAX_RESOURCE_HOURS))
        budget["onExhausted"] = draw(st.sampled_from(["finishRung", "stopNow"]))
    spec = {
        "objective": {"metric": draw(word(string.ascii_letters, ALNUM + "_./:-",
                                          bounds.MAX_METRIC_LENGTH)),
                      "mode": draw(st.sampled_from(["min", "max"]))},
        "searchSpace": draw(search_space()),
        "strategy": {"scheduler": scheduler,
                     "searcher": {"type": "random", "seed": draw(ints(0, bounds.MAX_SEED))}},
        "budget": budget,
        "trainable": {"entrypoint": "pkg.module:Trainable", "config": draw(config())},
        "resources": {"perTrial": per_trial, "cluster": nodes},
        "storage": storage,
    }
    if draw(st.booleans()):
        spec["tracking"] = draw(tracking())
    spec["trainable"]["config"] = {k: v for k, v in spec["trainable"]["config"].items()
                                   if k not in spec["searchSpace"]}
    name = draw(word(string.ascii_lowercase, LOWER_ALNUM + "-", 42))
    return {"apiVersion": "hpo.dev/v1alpha1", "kind": "HPOCampaign",
            "metadata": {"name": name, "namespace": draw(dns_label())}, "spec": spec}
