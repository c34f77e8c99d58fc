"""Pseudonyms: stable tokens per name, word boundaries, short and generic names, private
addresses only."""

from __future__ import annotations

import pytest

from timeline_telemetry.redact import Identity, Pseudonymiser, PseudonymPolicy

JDOE = Identity(user="jdoe", home="/home/jdoe", hosts=("edit-ws01.studio.lan",))


def test_home_and_user_become_stable_tokens() -> None:
    p = Pseudonymiser(JDOE)
    text = ("opened /home/jdoe/Videos/client_wedding.tlp; jdoe_notes.txt by JDoe; "
            "/home/alice/a and /home/alice/b; C:\\Users\\bob\\x; /Users/Shared/kept")
    assert p.text(text) == (
        "opened ~/Videos/client_wedding.tlp; <user-1>_notes.txt by <user-1>; "
        "/home/<user-2>/a and /home/<user-2>/b; C:\\Users\\<user-3>\\x; /Users/Shared/kept")
    assert p.counts == {"home_path": 4, "user_name": 2}
    assert p.distinct() == {"user_name": 3}


def test_word_boundaries_and_idempotence() -> None:
    p = Pseudonymiser(JDOE)
    kept = "jdoes jdoe2 xjdoe /home/jdoe2 https://site.example/home/index.html"
    assert p.text(kept) == "jdoes jdoe2 xjdoe /home/<user-2> https://site.example/home/index.html"
    once = p.text("/home/jdoe/a jdoe /home/carol/b")
    assert p.text(once) == once  # the bundle scrubs JSON text twice


@pytest.mark.parametrize("user", ["ed", "root", "admin"])
def test_short_or_generic_names_only_in_home_paths(user: str) -> None:
    p = Pseudonymiser(Identity(user=user, home=f"/srv/{user}-home"))
    assert p.text(f"{user} edited /home/{user}/x") == f"{user} edited /home/<user-1>/x"
    assert p.exact(user) == "<user-1>"


def test_hosts_and_private_ips_only_when_asked() -> None:
    text = ("edit-ws01 edit-ws01.studio.lan 192.168.1.20 10.0.0.5. 172.16.3.4 169.254.1.1 "
            "fd12:3456::1 fe80::1%eth0 8.8.8.8 127.0.0.1 172.32.0.1 ::1 192.168.1.20")
    assert Pseudonymiser(JDOE).text(text) == text
    p = Pseudonymiser(JDOE, PseudonymPolicy(users=False, hosts=True))
    assert p.text(text) == ("<host-1> <host-1> <ip-1> <ip-2>. <ip-3> <ip-4> <ip-5> <ip-6> "
                            "8.8.8.8 127.0.0.1 172.32.0.1 ::1 <ip-1>")
    assert p.text("/home/jdoe/x") == "/home/jdoe/x"  # users off
    assert PseudonymPolicy(users=False, hosts=True).flags() == [
        "--no-pseudonymize", "--pseudonymize-hosts"]
    assert PseudonymPolicy().flags() == []
