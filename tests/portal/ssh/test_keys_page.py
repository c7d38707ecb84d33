"""The SSH keys page as a customer uses it, and the login commands on a server's page."""

from __future__ import annotations

import re
from pathlib import Path

import docker

from tests.fixtures.customer_portal import instance_of, new_customer, order
from tests.fixtures.portal import Portal
from tests.fixtures.ssh_gateway import remove_instances
from tests.fixtures.ssh_keys import FIRST_KEY, SECOND_KEY, make_key


def field_error(html: str) -> str:
    found = re.search(r'<small id="e-public_key" class="error">(.*?)</small>', html, re.S)
    assert found, "no error beside the key field"
    return found.group(1)


def key_ids(html: str) -> list[str]:
    return re.findall(r'action="/ssh-keys/(k[0-9a-f]+)/remove"', html)


def test_keys_are_added_shown_with_their_fingerprint_and_removed(
    portal: Portal, tmp_path: Path
) -> None:
    new_customer(portal, "ann@example.com")
    laptop = make_key(tmp_path, "laptop")

    added = portal.post("/ssh-keys", {"public_key": laptop.public, "name": "Work laptop"})
    portal.post("/ssh-keys", {"public_key": SECOND_KEY})
    page = portal.get("/ssh-keys").text

    assert added.status_code == 303
    assert f"Key Work laptop added ({laptop.fingerprint})." in page
    assert laptop.fingerprint in page  # as ssh-keygen -l shows it
    assert "second@example" in page  # no name given: the key's comment
    first, _ = key_ids(page)
    assert portal.post(f"/ssh-keys/{first}/remove").status_code == 303
    after = portal.get("/ssh-keys").text
    assert laptop.fingerprint not in after
    assert "second@example" in after


def test_a_bad_key_is_refused_beside_the_field_keeping_what_was_typed(
    portal: Portal, tmp_path: Path
) -> None:
    new_customer(portal, "ann@example.com")
    secret = make_key(tmp_path, "secret")

    garbage = portal.post("/ssh-keys", {"public_key": "ssh-ed25519 not-a-key", "name": "mine"})
    private = portal.post("/ssh-keys", {"public_key": secret.private.read_text()})
    empty = portal.post("/ssh-keys", {"public_key": "  "})

    assert garbage.status_code == 400
    assert "damaged or cut short" in field_error(garbage.text)
    assert "ssh-ed25519 not-a-key" in garbage.text
    assert 'value="mine"' in garbage.text
    assert "this is a private key" in field_error(private.text)
    assert field_error(empty.text) == "paste a public key"
    assert key_ids(portal.get("/ssh-keys").text) == []


def test_the_same_key_twice_is_refused(portal: Portal) -> None:
    new_customer(portal, "ann@example.com")
    portal.post("/ssh-keys", {"public_key": FIRST_KEY})

    again = portal.post("/ssh-keys", {"public_key": FIRST_KEY + " \n", "name": "again"})

    assert again.status_code == 400
    assert "you have added this key already (SHA256:" in field_error(again.text)


def test_another_customer_s_key_cannot_be_removed(portal: Portal) -> None:
    new_customer(portal, "ann@example.com")
    portal.post("/ssh-keys", {"public_key": FIRST_KEY})
    (ann_key,) = key_ids(portal.get("/ssh-keys").text)
    bob = portal.other_browser()
    new_customer(bob, "bob@example.com")

    assert bob.post(f"/ssh-keys/{ann_key}/remove").status_code == 404
    assert key_ids(portal.get("/ssh-keys").text) == [ann_key]


def test_a_server_s_page_says_how_to_log_in_and_an_application_s_does_not(
    portal: Portal, engine_client: docker.DockerClient
) -> None:
    ann = new_customer(portal, "ann@example.com")
    server = order(portal, ann, "server-s")
    application = order(portal, ann, "app-starter")
    try:
        portal.tick()
        server_id = instance_of(portal, server.id).id
        server_page = portal.get(f"/instances/{server_id}").text
        application_id = instance_of(portal, application.id).id
        application_page = portal.get(f"/instances/{application_id}").text
    finally:
        remove_instances(portal, engine_client, server.id, application.id)

    assert f"ssh {server_id}@localhost -p 2222" in server_page
    assert f"sftp -P 2222 {server_id}@localhost" in server_page
    assert 'href="/ssh-keys"' in server_page
    assert "ssh " not in application_page.replace("ssh-keys", "")
