"""A real multi-node Slurm cluster as podman containers: a controller ``ctl`` and compute nodes
``n1``..``nN`` on a test network, each with its own hostname, address and daemons (munged, then
slurmctld or slurmd), one host directory mounted at the same path in all of them as the cluster's
shared filesystem.

The node image is the trainer image plus Debian's slurm-wlm and munge, built here on top of it
(about 10 s) and tagged by the trainer image's id and this recipe, so that it is built once per
trainer image. Debian's postinst writes one munge key into the image: every node shares it, as
the nodes of a real cluster share theirs. Containers are removed by id (``Podman.remove``).
"""

from __future__ import annotations

import hashlib
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import REPO
from tests.support.containers import EngineError, Network, Podman, wait_running

PACKAGES = "slurm-wlm munge iproute2 procps"
RECIPE = """FROM {base}
USER root
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \\
      --no-install-recommends {packages} >/dev/null && rm -rf /var/lib/apt/lists/* \\
    && test -s /etc/munge/munge.key
"""
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")

SLURM_CONF = """ClusterName=hpotest
SlurmctldHost=ctl({ctl})
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile={logs}/slurmctld.log
SlurmdLogFile={logs}/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
MinJobAge=600
SlurmdTimeout=120
KillWait=15
{nodes}
PartitionName=debug Nodes={names} Default=YES MaxTime=INFINITE State=UP
"""

START = """set -e
mkdir -p /run/munge /var/spool/slurmd /var/spool/slurmctld
chown munge:munge /run/munge
pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged
"""


def node_image(podman: Podman, trainer: str, log: Path) -> tuple[str, bool]:
    """The Slurm node image on top of ``trainer``, and whether it was built now."""
    base_id = podman("image", "inspect", "--format", "{{.Id}}", trainer)
    recipe = RECIPE.format(base=trainer, packages=PACKAGES)
    key = hashlib.sha256(f"{base_id}\n{recipe}".encode()).hexdigest()[:12]
    name = f"localhost/hpo-test/slurm-node:{key}"
    if podman.succeeds("image", "exists", name):
        return name, False
    context = log.parent / f"slurm-node-{key}"
    context.mkdir(parents=True, exist_ok=True)
    (context / "Containerfile").write_text(recipe)
    mounts = ["-v", f"{HOST_CA}:{HOST_CA}:ro"] if HOST_CA.exists() else []
    with open(log, "wb") as out:
        done = subprocess.run(["buildah", "bud", "--isolation", "chroot", "--layers=false",
                               *mounts, "-t", name, "-f", str(context / "Containerfile"),
                               str(context)], env=podman.env, stdout=out,
                              stderr=subprocess.STDOUT, timeout=900, check=False)
    if done.returncode != 0:
        raise EngineError(f"building the Slurm node image failed ({done.returncode}):\n"
                          + log.read_text(errors="replace")[-3000:])
    return name, True


@dataclass
class SlurmNodes:
    """The cluster; ``start()`` brings it up, ``close()`` removes its containers."""

    podman: Podman
    network: Network
    image: str
    shared: Path
    computes: int = 3
    containers: dict[str, str] = field(default_factory=dict)
    addresses: dict[str, str] = field(default_factory=dict)

    @property
    def nodes(self) -> list[str]:
        return [f"n{i}" for i in range(1, self.computes + 1)]

    @property
    def logs(self) -> Path:
        return self.shared / "slurm-logs"

    def start(self) -> None:
        prefix = self.network.gateway.rsplit(".", 1)[0]
        self.addresses = {name: f"{prefix}.{10 + i}" for i, name in
                          enumerate(["ctl", *self.nodes])}
        self.logs.mkdir(parents=True, exist_ok=True)
        conf = self.shared / "slurm.conf"
        conf.write_text(self._slurm_conf())
        package = self._package_dir()
        hosts = [f"--add-host={n}:{ip}" for n, ip in self.addresses.items()]
        for name, ip in self.addresses.items():
            self.containers[name] = self.podman.run(
                "--name", f"{self.network.name}-{name}", "--hostname", name,
                "--network", self.network.name, "--ip", ip, *hosts, "--shm-size=1g",
                "--init",  # an init that reaps orphans, as a node's init does
                "--user", "root", "-e", "PYTHONDONTWRITEBYTECODE=1",
                "-e", f"HPO_DATA_DIR={self.shared / 'datasets'}",
                "-v", f"{self.shared}:{self.shared}",
                "-v", f"{conf}:/etc/slurm/slurm.conf:ro",
                # The checkout's operator package over the image's copy: the same in CI, where
                # the image is built from this checkout, and current code when it is not.
                "-v", f"{REPO / 'operator/hpo_operator'}:{package}:ro",
                "--entrypoint", "sleep", self.image, "infinity")
        for name in self.addresses:
            self.start_daemons(name)
        self.wait_idle(self.nodes, 120)

    def _slurm_conf(self) -> str:
        nodes = "\n".join(f"NodeName={n} NodeAddr={self.addresses[n]} CPUs=1 RealMemory=1000 "
                          "State=UNKNOWN" for n in self.nodes)
        return SLURM_CONF.format(ctl=self.addresses["ctl"], logs=self.logs, nodes=nodes,
                                 names=",".join(self.nodes))

    def _package_dir(self) -> str:
        return self.podman("run", "--rm", "--entrypoint", "python3", self.image, "-c",
                           "import hpo_operator, os; "
                           "print(os.path.dirname(hpo_operator.__file__))", timeout=120)

    def start_daemons(self, name: str) -> None:
        daemon = "slurmctld -c" if name == "ctl" else "slurmd"
        self.sh(name, START + daemon, timeout=60)

    def stop_slurmd(self, name: str) -> None:
        """The node's slurmd stops (SIGKILL, by its pid file): the node no longer answers."""
        self.sh(name, "kill -KILL $(cat /run/slurmd.pid) && rm -f /run/slurmd.pid")

    def resume(self, name: str) -> None:
        """Start the node's slurmd again and return it to service."""
        self.start_daemons(name)
        self.sh("ctl", f"scontrol update nodename={name} state=resume || true")
        self.wait_idle([name], 120)

    def wait_idle(self, names: list[str], timeout: float) -> None:
        def idle() -> bool:
            out = self.exec("ctl", "sinfo", "-h", "-N", "-o", "%N %T", check=False).stdout
            states = dict(line.split()[:2] for line in out.splitlines() if line.strip())
            return all(states.get(n) == "idle" for n in names)
        wait_running(self.podman, self.containers["ctl"], "slurm-ctl", idle, timeout,
                     f"Slurm nodes {', '.join(names)} idle")

    def exec(self, name: str, *cmd: str, check: bool = True, timeout: float = 120,
             workdir: Path | None = None) -> subprocess.CompletedProcess[str]:
        where = ["-w", str(workdir)] if workdir else []
        done = subprocess.run(["podman", "exec", *where, self.containers[name], *cmd],
                              env=self.podman.env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        if check and done.returncode != 0:
            raise EngineError(f"{name}: {shlex.join(cmd)[:200]} exited {done.returncode}:\n"
                              f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        return done

    def sh(self, name: str, script: str, timeout: float = 120) -> str:
        return self.exec(name, "bash", "-c", script, timeout=timeout).stdout

    def processes(self, name: str) -> list[str]:
        """The command lines of the node's live processes (zombies left out)."""
        out = self.exec(name, "ps", "-eo", "stat=,args=", check=False).stdout
        rows = [line.split(None, 1) for line in out.splitlines() if line.strip()]
        return [row[1] for row in rows if len(row) == 2 and not row[0].startswith("Z")]

    def ray_processes(self, name: str) -> list[str]:
        """The node's live Ray processes (raylet, GCS, ``ray start``)."""
        return [args for args in self.processes(name)
                if any(word in args for word in ("raylet", "gcs_server", "ray start"))]

    def kill_ray(self, name: str) -> list[int]:
        """SIGKILL every Ray process of the node (``ray start``, raylet, its workers and the
        trial actors), by pid, as when the node is lost; the pids killed."""
        out = self.exec(name, "ps", "-eo", "pid=,args=", check=False).stdout
        pids = [line.split(None, 1)[0] for line in out.splitlines()
                if any(word in line for word in ("ray::", "/ray/", "ray start"))]
        if pids:
            self.exec(name, "kill", "-KILL", *pids, check=False)
        return [int(p) for p in pids]

    def close(self) -> None:
        for name, cid in list(self.containers.items()):
            self.podman.remove(cid, f"slurm-{name}")
            del self.containers[name]
