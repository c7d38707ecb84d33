"""The SSH gateway: one asyncssh server for every server-hosting instance.

asyncssh because it is a maintained SSH server for asyncio: the gateway runs on the
portal's event loop (beside the web app in ``dockyard serve --with-worker``, or alone in
``dockyard ssh-gateway``), and needs neither a system sshd nor a user account per
customer. Only public keys authenticate; the username names the instance.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

import asyncssh
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from plans import Catalog
from portal.settings import SshSettings
from portal.ssh.access import Gatekeeper, Grant
from portal.ssh.host_key import load_or_create_host_key
from portal.ssh.session import FleetSource, run_session
from portal.ssh.sftp import DataVolumeSftp
from provisioner import ProvisioningError

log = logging.getLogger(__name__)

GRANT = "dockyard_grant"  # the connection's extra info: whom it was admitted as
DATA_PATH = "dockyard_data_path"
# Seconds a client has to authenticate: a stranger's half-open connection costs little.
LOGIN_TIMEOUT = 30
# Keys refused on one connection (OpenSSH's sshd allows 6) before every further one is
# refused without asking the database, so one connection cannot keep it busy.
MAX_REFUSALS = 10


class GatewayServer(asyncssh.SSHServer):
    """One per connection (asyncssh makes it): admits by the gatekeeper's word."""

    def __init__(self, gate: Gatekeeper, fleet: FleetSource) -> None:
        self._gate = gate
        self._fleet = fleet
        self._conn: asyncssh.SSHServerConnection | None = None
        self._refusals = 0

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn

    def begin_auth(self, username: str) -> bool:
        return True  # always authenticate, whoever is named: no early "no such user"

    def public_key_auth_supported(self) -> bool:
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        if self._refusals >= MAX_REFUSALS:
            return False
        try:
            grant = await self._gate.admit(username, key.get_fingerprint("sha256"))
        except Exception:  # e.g. the database is down: refused, like any other refusal
            log.exception("ssh: cannot decide on a login to %r", username[:64])
            grant = None
        if grant is None or self._conn is None:
            self._refusals += 1
            return False
        # Asked twice per login (OpenSSH offers the key, then signs with it): once is enough.
        if self._conn.get_extra_info(GRANT) != grant:
            self._conn.set_extra_info(**{GRANT: grant, DATA_PATH: await self._data_path(grant)})
        return True

    async def _data_path(self, grant: Grant) -> str | None:
        """Where SFTP is rooted, found once at login (the SFTP factory cannot wait)."""
        try:
            return await (await self._fleet()).shell.data_path(grant.instance_id)
        except ProvisioningError as error:
            log.warning("ssh: no data volume for %s: %s", grant.instance_id, error)
            return None


async def _session(fleet: FleetSource, process: asyncssh.SSHServerProcess[bytes]) -> None:
    grant: Grant = process.get_extra_info(GRANT)
    await run_session(process, grant, fleet)


def _sftp(chan: asyncssh.SSHServerChannel[bytes]) -> asyncssh.SFTPServer:
    root: str | None = chan.get_extra_info(DATA_PATH)
    if root is None:  # the engine did not answer at login: nothing to serve
        raise asyncssh.ChannelOpenError(
            asyncssh.OPEN_CONNECT_FAILED, "your server's files cannot be reached right now"
        )
    return DataVolumeSftp(chan, root)


async def start_gateway(
    settings: SshSettings,
    sessions: async_sessionmaker[AsyncSession],
    catalog: Callable[[], Catalog],
    fleet: FleetSource,
) -> asyncssh.SSHAcceptor:
    """Listen on ``settings.address:port``; close the returned acceptor to stop."""
    gate = Gatekeeper(sessions, catalog)
    acceptor = await asyncssh.create_server(
        partial(GatewayServer, gate, fleet),
        settings.address,
        settings.port,
        server_host_keys=[load_or_create_host_key(settings.host_key_dir)],
        process_factory=partial(_session, fleet),
        sftp_factory=_sftp,
        encoding=None,  # bytes both ways: terminals and files are not text
        line_editor=False,  # the container's shell edits lines, not the gateway
        allow_scp=False,  # OpenSSH 9's scp speaks SFTP; legacy scp would run outside /data
        login_timeout=LOGIN_TIMEOUT,
        agent_forwarding=False,
        x11_forwarding=False,
        allow_pty=True,
    )
    log.info("ssh gateway listening on %s:%d", settings.address, settings.port)
    return acceptor
