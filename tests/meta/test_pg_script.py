"""scripts/pg.sh: each cluster's port comes from the cluster's own folder, so a cluster in
CUSTODIAN_PG_HOME (the fault tests' own) does not start out on the checkout's port."""

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PG_SH = str(REPO / "scripts" / "pg.sh")


def port_of(home: Path | None) -> int:
    env = {k: v for k, v in os.environ.items() if k not in ("CUSTODIAN_PG_HOME", "DATABASE_URL")}
    if home is not None:
        env["CUSTODIAN_PG_HOME"] = str(home)
    done = subprocess.run([PG_SH, "port"], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    return int(done.stdout.strip())


def test_a_cluster_in_custodian_pg_home_derives_its_port_from_that_folder(tmp_path):
    one, other = port_of(tmp_path / "one"), port_of(tmp_path / "other")
    assert one != other
    assert port_of(tmp_path / "one") == one  # derived, not random
    assert port_of(None) not in (one, other)  # the checkout's own cluster


def test_a_clusters_remembered_port_is_the_one_printed(tmp_path):
    (tmp_path / "port").write_text("23456\n")
    assert port_of(tmp_path) == 23456
