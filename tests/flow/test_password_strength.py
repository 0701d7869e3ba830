"""/password/strength (issue #7 item 4): the live verdict of the new-password fields is the
policy's own estimate (zxcvbn), with its advice in the customer's language; CSRF-protected and
rate-limited like any form post."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import csrf_token
from tests.oidc import AuthorizationRequest


@pytest.fixture
def token(test_client: Any) -> str:
    """A CSRF token of this browser (any page with a form gives one: the login page)."""
    login_page = test_client.get(AuthorizationRequest().url()).headers["Location"]
    return csrf_token(test_client.get(login_page).text)


def ask(test_client: Any, token: str, password: str, lang: str = "fr", **extra: Any) -> Any:
    return test_client.post(
        f"/password/strength?lang={lang}",
        json={"password": password, **extra},
        headers={"X-CSRFToken": token},
    )


def test_a_keyboard_walk_is_weak_with_advice_in_french(test_client, token):
    answer = ask(test_client, token, "azertyuiopqs")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    body = answer.get_json()
    assert body["acceptable"] is False and body["score"] == 2
    assert body["verdict"] == "moyen"
    assert body["advice"] == [
        "Il ressemble à un mot de passe courant.",
        "Ajoutez un ou deux mots. Les mots peu courants sont meilleurs.",
    ]


@pytest.mark.parametrize(
    ("lang", "advice"),
    [
        ("nl", "Dit lijkt op een veelgebruikt wachtwoord."),
        ("en", "This is similar to a commonly used password."),
        ("de", "Es ähnelt einem häufig verwendeten Passwort."),
    ],
)
def test_the_advice_speaks_the_page_language(test_client, token, lang, advice):
    assert advice in ask(test_client, token, "azertyuiopqs", lang).get_json()["advice"]


def test_a_strong_password_is_acceptable(test_client, token):
    body = ask(test_client, token, "Kookplaat-Zomerregen-42").get_json()
    assert body["acceptable"] is True and body["score"] == 4 and body["advice"] == []


def test_too_short_says_the_minimum(test_client, token):
    body = ask(test_client, token, "Xq7!vT2#").get_json()
    assert body["acceptable"] is False
    assert body["advice"][0] == "Utilisez au moins 12 caractères."


def test_the_persons_words_count(test_client, token):
    alone = ask(test_client, token, "pieterjanssens").get_json()
    known = ask(test_client, token, "pieterjanssens", context=["pieter.janssens@example.be"])
    assert alone["acceptable"] and not known.get_json()["acceptable"]


def test_without_the_csrf_token_it_is_refused(test_client):
    answer = test_client.post("/password/strength", json={"password": "azertyuiopqs"})
    assert answer.status_code == 400


@pytest.mark.parametrize("body", [None, {}, {"password": 12}, {"password": ["a"]}])
def test_bad_input_is_a_clear_400(test_client, token, body):
    answer = test_client.post("/password/strength", json=body, headers={"X-CSRFToken": token})
    assert answer.status_code == 400


def test_every_sentence_of_the_estimator_is_translated():
    """A zxcvbn upgrade that says something new fails here, not in front of a customer."""
    import ast
    from pathlib import Path

    import zxcvbn

    from idp.views.messages import ADVICE

    source = Path(zxcvbn.__file__).with_name("feedback.py").read_text()
    said = {
        node.args[0].value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "_"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }
    assert len(said) >= 25 and said == set(ADVICE)
