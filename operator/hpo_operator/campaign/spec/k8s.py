"""The grammars a manifest's cluster-facing strings must follow: Kubernetes names and labels, OCI
image references, mount paths and memory quantities.

Each is an annotated ``str`` whose pattern goes into the CRD as is (the same regular expression
for pydantic, Python's ``re`` and the API server's RE2: ASCII classes, no look-arounds) and whose
lengths, which a pattern cannot count per part, a validator checks. :data:`PATTERN_RULES` words
each pattern for validation messages, which would otherwise quote the expression.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from ..shown import quote
from . import bounds

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS_LABEL_PATTERN = rf"^{_LABEL}$"
DNS_SUBDOMAIN_PATTERN = rf"^{_LABEL}(\.{_LABEL})*$"
_NAME_PART = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
QUALIFIED_NAME_PATTERN = rf"^({_LABEL}(\.{_LABEL})*/)?{_NAME_PART}$"
LABEL_VALUE_PATTERN = rf"^({_NAME_PART})?$"

# The OCI distribution reference grammar (github.com/distribution/reference, regexp.go).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
IMAGE_PATTERN = rf"^(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::{_TAG})?(?:@{_DIGEST})?$"

STORAGE_PATH_PATTERN = r"^(/[A-Za-z0-9._+@=,-]+)+$"
QUANTITY_PATTERN = r"^[0-9]{1,15}(\.[0-9]{1,3})?(Ki|Mi|Gi|Ti|K|M|G|T)?$"

PATTERN_RULES = {
    DNS_LABEL_PATTERN: "must be a DNS label: lower-case letters, digits and '-', starting and "
                       "ending with a letter or digit",
    DNS_SUBDOMAIN_PATTERN: "must be a DNS subdomain: DNS labels (lower-case letters, digits and "
                           "'-') joined by '.'",
    QUALIFIED_NAME_PATTERN: "must be a Kubernetes label key: an optional DNS-subdomain prefix "
                            "and '/', then letters, digits, '-', '_' or '.', starting and "
                            "ending with a letter or digit",
    LABEL_VALUE_PATTERN: "must be a Kubernetes label value: empty, or letters, digits, '-', '_' "
                         "or '.', starting and ending with a letter or digit",
    IMAGE_PATTERN: "must be an OCI image reference such as registry.example:5000/team/trainer:1.2 "
                   "or name@sha256:<digest> (lower-case repository path)",
    STORAGE_PATH_PATTERN: "must be an absolute path of names made of letters, digits and "
                          "'._+@=,-', without a trailing '/'",
    QUANTITY_PATTERN: "must be a memory quantity such as 512Mi, 8Gi or 1.5Ti",
}

# Where an image's own files or the Ray pods' other mounts live: a volume there would hide them.
SYSTEM_DIRECTORIES = ("bin", "boot", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc",
                      "run", "sbin", "sys", "usr")
MANIFEST_MOUNT_PATH = "/etc/hpo"
"""Where the driver's manifest ConfigMap is mounted in the Ray head."""
RESERVED_MOUNT_PATHS = (
    MANIFEST_MOUNT_PATH,
    "/dev/shm",  # KubeRay's shared-memory volume for Ray's object store
    "/tmp/ray",  # Ray's session directory: sockets and logs
    "/var/run/secrets/kubernetes.io/serviceaccount",  # the driver's API token
    "/home/ray/anaconda3",  # the Ray image's Python
)
_UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def _qualified_name(key: str) -> str:
    prefix, _, name = key.rpartition("/")
    if len(name) > bounds.MAX_DNS_LABEL:
        raise ValueError(f"the name part of label key {quote(key)} has more than "
                         f"{bounds.MAX_DNS_LABEL} characters")
    if len(prefix) > bounds.MAX_DNS_SUBDOMAIN:
        raise ValueError(f"the prefix of label key {quote(key)} has more than "
                         f"{bounds.MAX_DNS_SUBDOMAIN} characters")
    return key


def _image(reference: str) -> str:
    name = reference.split("@", 1)[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    if len(name) > 255:
        raise ValueError(f"the repository name of image {quote(reference)} has more than 255 "
                         "characters")
    return reference


def _mount_path(path: str) -> str:
    parts = path.split("/")[1:]
    if any(part in (".", "..") for part in parts):
        raise ValueError(f"{quote(path)} must be a normalised path, without '.' or '..'")
    if parts[0] in SYSTEM_DIRECTORIES:
        raise ValueError(f"{quote(path)} is inside the system directory /{parts[0]}: a volume "
                         "mounted there would hide the image's own files")
    for reserved in RESERVED_MOUNT_PATHS:
        if path == reserved or reserved.startswith(path + "/") or path.startswith(reserved + "/"):
            raise ValueError(f"{quote(path)} collides with {reserved}, where the Ray pods have "
                             "another mount or files they need: choose a directory apart")
    return path


def memory_bytes(quantity: str) -> float:
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", quantity)
    assert match is not None, quantity
    return float(match.group(1)) * _UNITS[match.group(2)]


def _memory(quantity: str) -> str:
    size = memory_bytes(quantity)
    if not bounds.MIN_MEMORY_BYTES <= size <= bounds.MAX_MEMORY_BYTES:
        raise ValueError(f"memory {quote(quantity)} must be between 1Mi and 64Ti")
    return quantity


DnsLabel = Annotated[str, Field(max_length=bounds.MAX_DNS_LABEL, pattern=DNS_LABEL_PATTERN)]
DnsSubdomain = Annotated[str, Field(max_length=bounds.MAX_DNS_SUBDOMAIN,
                                    pattern=DNS_SUBDOMAIN_PATTERN)]
LabelKey = Annotated[str, Field(max_length=bounds.MAX_DNS_SUBDOMAIN + 1 + bounds.MAX_DNS_LABEL,
                                pattern=QUALIFIED_NAME_PATTERN), AfterValidator(_qualified_name)]
LabelValue = Annotated[str, Field(max_length=bounds.MAX_DNS_LABEL, pattern=LABEL_VALUE_PATTERN)]
ImageReference = Annotated[str, Field(max_length=bounds.MAX_IMAGE_LENGTH, pattern=IMAGE_PATTERN),
                           AfterValidator(_image)]
MountPath = Annotated[str, Field(max_length=bounds.MAX_STORAGE_PATH,
                                 pattern=STORAGE_PATH_PATTERN), AfterValidator(_mount_path)]
MemoryQuantity = Annotated[str, Field(max_length=bounds.MAX_QUANTITY_LENGTH,
                                      pattern=QUANTITY_PATTERN), AfterValidator(_memory)]
