"""Logging in to server-hosting instances: customers' SSH keys and the SSH gateway.

One gateway (asyncssh) serves every server: ``ssh <instance>@<host> -p <port>`` with one
of the instance owner's keys opens a shell (or runs a command) inside the instance's
container; SFTP (and so OpenSSH's scp) reaches its /data volume.

- ``keys``: a pasted public key parsed, checked and fingerprinted
- ``models``, ``repository``, ``keyring``: the ``ssh_keys`` table, its queries, its use cases
- ``pages``: the customer's keys page
- ``access``: who may log in where (one path for every refusal)
- ``host_key``: the gateway's host key, generated once under ``var/ssh/``
- ``server``: the asyncssh server and its start; ``session``: a shell or command bridged to
  ``docker exec``; ``output``: the engine's multiplexed output read
- ``sftp``: the data volume, chrooted; ``confined``: its paths, resolved without links
- ``running``: the gateway beside the web app or alone; ``cli``: ``dockyard ssh-gateway``
"""

import warnings

# asyncssh 2.x names cryptography's DSA types when imported, and cryptography warns (a
# UserWarning, so every dockyard command would print it): DSA keys are refused here anyway.
warnings.filterwarnings("ignore", message="DSA is deprecated", module=r"asyncssh\.")
