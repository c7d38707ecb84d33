"""The SSH gateway with Debian's OpenSSH client, into a real server-hosting container:
the owner's key lands inside it; every other login is refused, all alike."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from portal.ssh.pages import keyring
from portal.ssh.server import MAX_REFUSALS
from provisioner import EngineUnavailable, Instance, Provisioner, SuspensionReason
from tests.fixtures.customer_portal import Customer, new_customer, order, tick_until_running
from tests.fixtures.docker import run_in, wait_for
from tests.fixtures.portal import Portal
from tests.fixtures.ssh_gateway import Gateway, remove_instances, run_gateway
from tests.fixtures.ssh_keys import KeyPair, make_key

pytestmark = [pytest.mark.docker, pytest.mark.ssh]

REFUSED = "Permission denied (publickey)."


@dataclass
class Server:
    """Ann's running server, her key, and a key of Bob's (another customer)."""

    instance_id: str
    container: str
    ann: Customer
    ann_key: KeyPair
    bob_key: KeyPair


def add_key(portal: Portal, customer: Customer, key: KeyPair) -> None:
    portal.run(keyring(portal.services).add, customer.id, key.public)


@pytest.fixture
def server(portal: Portal, tmp_path: Path, engine_client: docker.DockerClient) -> Iterator[Server]:
    ann = new_customer(portal, "ann@example.com")
    subscription = order(portal, ann, "server-s")
    try:
        instance = tick_until_running(portal, subscription.id)
        assert instance.workload_id is not None
        ann_key = make_key(tmp_path / "keys", "ann")
        add_key(portal, ann, ann_key)
        bob_browser = portal.other_browser()
        bob = new_customer(bob_browser, "bob@example.com")
        bob_key = make_key(tmp_path / "keys", "bob")
        add_key(portal, bob, bob_key)
        yield Server(instance.id, instance.workload_id, ann, ann_key, bob_key)
    finally:
        remove_instances(portal, engine_client, subscription.id)


def engine_of(portal: Portal) -> Provisioner:
    return portal.run(portal.services.provisioner)


def test_the_owner_s_key_runs_commands_inside_their_server(
    engine_client: docker.DockerClient, server: Server, gateway: Gateway
) -> None:
    _, hostname = run_in(engine_client, server.container, "cat", "/etc/hostname")

    answer = gateway.ssh(server.ann_key, server.instance_id, "cat /etc/hostname; echo err >&2")

    assert answer.returncode == 0, answer.stderr
    assert answer.stdout == hostname
    assert answer.stderr == "err\n"  # apart from stdout
    failed = gateway.ssh(server.ann_key, server.instance_id, "exit 7")
    assert failed.returncode == 7
    piped = gateway.ssh(server.ann_key, server.instance_id, "cat > /data/piped", stdin="from stdin")
    assert piped.returncode == 0, piped.stderr
    assert run_in(engine_client, server.container, "cat", "/data/piped") == (0, "from stdin")


def test_an_interactive_shell_gets_a_terminal_inside_the_server(
    server: Server, gateway: Gateway
) -> None:
    answer = gateway.ssh(
        server.ann_key,
        server.instance_id,
        tty=True,
        stdin="tty && stty size && echo shell-$((6*7))\nexit 3\n",
    )

    assert "shell-42" in answer.stdout, answer.stdout + answer.stderr
    assert "/dev/pts/" in answer.stdout  # a real terminal
    assert answer.returncode == 3


def test_every_other_login_is_refused_alike(
    portal: Portal, server: Server, gateway: Gateway, tmp_path: Path
) -> None:
    stranger = make_key(tmp_path / "keys", "stranger")
    attempts = {
        "a key nobody added": (stranger, server.instance_id),
        "another customer's key": (server.bob_key, server.instance_id),
        "an unknown instance": (server.ann_key, "i0000000000"),
        "not an instance at all": (server.ann_key, "root"),
        "her application-hosting instance": (server.ann_key, application_of(portal, server)),
    }
    said = {why: refusal(gateway, *attempt) for why, attempt in attempts.items()}
    portal.run(engine_of(portal).suspend, server.instance_id, SuspensionReason.MANUAL)
    said["a suspended server"] = refusal(gateway, server.ann_key, server.instance_id)

    assert said == dict.fromkeys(said, (255, f"USER@127.0.0.1: {REFUSED}"))


def application_of(portal: Portal, server: Server) -> str:
    """An application-hosting instance of the server's owner, running as far as the
    database says (the gateway refuses it before it would ask the engine anything)."""
    now = portal.clock()
    application = Instance(
        id="iapp0000001",
        customer_ref=server.ann.id,
        plan_id="app-starter",
        plan_version=1,
        image="dockyard-demo",
        image_version="1",
        cpu_millis=250,
        memory_mb=256,
        disk_gb=1,
        max_processes=64,
        desired_state="running",
        state="running",
        created_at=now,
        updated_at=now,
    )

    async def record() -> None:
        async with portal.services.sessions() as session, session.begin():
            session.add(application)

    portal.run(record)
    return application.id


def refusal(gateway: Gateway, key: KeyPair, user: str) -> tuple[int, str]:
    """The exit status and what the client says, the username made anonymous."""
    answer = gateway.ssh(key, user, "true")
    return answer.returncode, answer.stderr.strip().replace(user, "USER")


def test_files_go_both_ways_with_sftp_and_scp(
    engine_client: docker.DockerClient, server: Server, gateway: Gateway, tmp_path: Path
) -> None:
    sent = tmp_path / "site.txt"
    sent.write_text("uploaded over sftp\n")
    back = tmp_path / "back.txt"
    user = server.instance_id

    batch = f"mkdir www\nput {sent} www/site.txt\nget www/site.txt {back}\nls -l www\n"
    answer = gateway.sftp(server.ann_key, user, batch)

    assert answer.returncode == 0, answer.stderr
    assert back.read_text() == "uploaded over sftp\n"
    inside = run_in(engine_client, server.container, "cat", "/data/www/site.txt")
    assert inside == (0, "uploaded over sftp\n")  # in the container, at /data
    # Made as the owner of /data (the container's root here), nothing the container can't use.
    listing = run_in(engine_client, server.container, "stat", "-c", "%u:%g %a %n", "/data/www")
    assert listing == (0, "0:0 755 /data/www\n")

    copied = gateway.scp(server.ann_key, str(sent), gateway.remote(user, "copy.txt"))
    assert copied.returncode == 0, copied.stderr
    assert run_in(engine_client, server.container, "cat", "/data/copy.txt")[1] == sent.read_text()
    fetched = gateway.scp(server.ann_key, gateway.remote(user, "/copy.txt"), str(tmp_path / "c"))
    assert fetched.returncode == 0, fetched.stderr
    assert (tmp_path / "c").read_text() == sent.read_text()


def test_new_files_take_the_owner_of_their_directory_and_no_set_id_bits(
    portal: Portal,
    engine_client: docker.DockerClient,
    server: Server,
    gateway: Gateway,
    tmp_path: Path,
) -> None:
    data = Path(portal.run(engine_of(portal).shell.data_path, server.instance_id))
    (data / "app").mkdir()
    os.chown(data / "app", 1000, 1000)  # as an application's own user would own it
    sent = tmp_path / "run.sh"
    sent.write_text("echo hi\n")
    sent.chmod(0o4755)

    batch = f"put -p {sent} app/run.sh\nmkdir app/logs\nchmod 6777 app/run.sh\n"
    answer = gateway.sftp(server.ann_key, server.instance_id, batch)

    assert answer.returncode == 0, answer.stderr
    stat = ["stat", "-c", "%u:%g %a %n", "/data/app/run.sh", "/data/app/logs"]
    assert run_in(engine_client, server.container, *stat) == (
        0,
        "1000:1000 777 /data/app/run.sh\n1000:1000 755 /data/app/logs\n",
    )


def test_sftp_never_leaves_data_even_by_a_link_made_inside(
    engine_client: docker.DockerClient, server: Server, gateway: Gateway, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"  # a directory of the host's, where nothing may appear
    outside.mkdir()
    run_in(engine_client, server.container, "ln", "-s", "/", "/data/host")
    run_in(engine_client, server.container, "ln", "-s", str(outside), "/data/tmp")
    run_in(engine_client, server.container, "ln", "-s", "/etc/passwd", "/data/passwd")
    run_in(engine_client, server.container, "sh", "-c", "echo mine > /data/mine")
    passwd_mode = Path("/etc/passwd").stat().st_mode
    local = outside / "local.txt"
    local.write_text("should stay here\n")

    escapes = {
        "reading through a linked directory": f"get host/etc/hostname {outside / 'a'}\n",
        "reading a linked file": f"get passwd {outside / 'b'}\n",
        "dot-dot": f"get ../../../../etc/hostname {outside / 'c'}\n",
        "writing through a link": f"put {local} tmp/written\n",
        "listing through a link": "ls host/etc\n",
        "changing a linked file's mode": "chmod 666 passwd\n",
        "making a directory through a link": "mkdir tmp/made\n",
        "moving a file out": "rename mine tmp/moved\n",
        "making a new link": "symlink / out\n",
    }

    for why, batch in escapes.items():
        answer = gateway.sftp(server.ann_key, server.instance_id, batch)
        assert answer.returncode != 0, why
    assert [path.name for path in outside.iterdir()] == ["local.txt"]
    assert Path("/etc/passwd").stat().st_mode == passwd_mode
    listing = gateway.sftp(server.ann_key, server.instance_id, "ls -l\n")
    assert listing.returncode == 0, listing.stderr
    assert "mine" in listing.stdout  # the links are listed as links, not followed


def test_a_session_while_the_engine_is_down_gets_one_clear_line(
    portal: Portal, server: Server, tmp_path: Path
) -> None:
    async def engine_down() -> Provisioner:
        raise EngineUnavailable("the Docker engine at unix:///var/run/docker.sock is not running")

    gateways = run_gateway(portal, tmp_path / "down", engine_down)
    down = next(gateways)
    try:
        answer = down.ssh(server.ann_key, server.instance_id, "echo hi")
        shell = down.ssh(server.ann_key, server.instance_id, tty=True, stdin="echo hi\n")
    finally:
        gateways.close()

    assert (answer.returncode, answer.stdout) == (1, "")
    assert answer.stderr == (
        "dockyard: your server cannot be reached right now; please try again in a minute\n"
    )
    assert shell.returncode == 1
    assert "cannot be reached right now" in shell.stdout + shell.stderr


@pytest.mark.parametrize("tty", [False, True], ids=["command", "terminal"])
def test_a_client_that_goes_away_mid_command_ends_its_session(
    engine_client: docker.DockerClient,
    server: Server,
    gateway: Gateway,
    caplog: pytest.LogCaptureFixture,
    tty: bool,
) -> None:
    caplog.set_level(logging.INFO, logger="portal.ssh.session")
    client = gateway.start_ssh(server.ann_key, server.instance_id, "sleep 600", tty=tty)
    wait_for(lambda: "sleep 600" in processes(engine_client, server), "the command running")

    client.kill()
    client.communicate()

    ended = f"ssh: session into {server.instance_id} ended"
    wait_for(lambda: any(ended in r.getMessage() for r in caplog.records), "the session", 10)
    # As a closed terminal would, the gateway hangs up on what the session left running.
    wait_for(lambda: "sleep" not in processes(engine_client, server), "the command ending")


def processes(client: docker.DockerClient, server: Server) -> str:
    return run_in(client, server.container, "ps", "-o", "args")[1]


def test_the_terminal_follows_the_client_s_window_size(server: Server, gateway: Gateway) -> None:
    with gateway.in_terminal(server.ann_key, server.instance_id, columns=90, rows=25) as term:
        term.type("stty size\n")
        term.expect("25 90")
        term.resize(columns=132, rows=43)
        term.type("stty size\n")
        term.expect("43 132")
        term.type("exit\n")


def test_a_connection_may_offer_only_so_many_keys(
    server: Server, gateway: Gateway, tmp_path: Path
) -> None:
    others = [make_key(tmp_path / "many", f"k{n}") for n in range(MAX_REFUSALS)]

    late = gateway.ssh_offering([*others, server.ann_key], server.instance_id, "true")
    early = gateway.ssh_offering([*others[:-1], server.ann_key], server.instance_id, "true")

    assert (late.returncode, early.returncode) == (255, 0)
    assert REFUSED in late.stderr
