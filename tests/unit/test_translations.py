"""Catalogues (product §3): every message of the source is translated in fr, nl, en and de, and the
login page speaks the language asked for (``ui_locales``, the ``?lang=`` switch, Accept-Language).

The messages are re-extracted from the source with babel.cfg, so a string added to a template or
a view without updating the catalogues fails here. The .mo files are git-ignored: conftest's
``compiled_translations`` fixture compiles them, so the tests also work on a fresh clone.
"""

from __future__ import annotations

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from idp.i18n import LANGUAGES
from tests.oidc import DEMO_ACTIVE
from tests.oidc import AuthorizationRequest
from tests.oidc import submit_login
from tests.translations import ROOT
from tests.translations import TRANSLATIONS
from tests.translations import po_path
from tests.translations import read_catalogue

TEMPLATE = TRANSLATIONS / "messages.pot"
# Flask-Babel's own helpers on top of babel's defaults (_, gettext, ngettext, pgettext…).
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "_l": None, "lazy_ngettext": (1, 2)}
HINT = (
    "pybabel extract -F babel.cfg -k lazy_gettext -k _l -k lazy_ngettext:1,2 "
    "-c TRANSLATORS: -o idp/translations/messages.pot . && "
    "pybabel update -i idp/translations/messages.pot -d idp/translations, then translate"
)

HEADINGS = {
    "fr": "Connectez-vous pour continuer.",
    "nl": "Meld je aan om verder te gaan.",
    "en": "Log in to continue.",
    "de": "Melden Sie sich an, um fortzufahren.",
}
LABELS = {
    "fr": ("IDENTIFIANT", "MOT DE PASSE", "Se connecter", "Espace Client"),
    "nl": ("LOGIN", "WACHTWOORD", "Aanmelden", "Klantenzone"),
    "en": ("LOGIN", "PASSWORD", "Log in", "Customer space"),
    "de": ("BENUTZERNAME", "PASSWORT", "Anmelden", "Kundenbereich"),
}
WRONG_PASSWORD = {
    "fr": "Identifiant ou mot de passe incorrect.",
    "nl": "Login of wachtwoord is niet juist.",
    "en": "This login or password is not correct.",
    "de": "Benutzername oder Passwort ist nicht korrekt.",
}


def _key(message_id: str | tuple[str, ...], context: str | None) -> tuple[str, str | None]:
    singular = message_id[0] if isinstance(message_id, tuple) else message_id
    return singular, context


@pytest.fixture(scope="module")
def source_messages() -> dict[tuple[str, str | None], list[str]]:
    """Every message id of idp/ and templates/, extracted with babel.cfg → where it is used."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f, filename="babel.cfg")
    found: dict[tuple[str, str | None], list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        found.setdefault(_key(message, context), []).append(f"{filename}:{lineno}")
    return found


def test_extraction_finds_the_login_page(source_messages):
    assert ("Log in to continue.", None) in source_messages
    assert ("This login or password is not correct.", None) in source_messages
    assert ("Customer space", None) in source_messages


def test_template_lists_every_message(source_messages):
    template = {_key(m.id, m.context) for m in read_catalogue(TEMPLATE) if m.id}
    missing = sorted(set(source_messages) - template, key=str)
    assert not missing, f"messages.pot lacks {missing}; run {HINT}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogue_translates_every_message(lang, source_messages):
    catalog = read_catalogue(po_path(lang), lang)
    assert not catalog.fuzzy, f"{lang}: the catalogue header is fuzzy (pybabel compile skips it)"
    problems = []
    for key, where in sorted(source_messages.items(), key=str):
        message = catalog.get(*key)
        strings = message.string if message else None
        strings = strings if isinstance(strings, tuple) else (strings,)
        if message is None:
            problems.append(f"missing {key[0]!r} ({where[0]})")
        elif message.fuzzy:
            problems.append(f"fuzzy {key[0]!r}")
        elif not all(s and s.strip() for s in strings):
            problems.append(f"untranslated {key[0]!r}")
    assert not problems, f"{lang} catalogue: " + "; ".join(problems) + f" — run {HINT}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogue_passes_babel_checks(lang):
    """Placeholders (%(name)s) and plural forms agree between id and translation."""
    catalog = read_catalogue(po_path(lang), lang)
    errors = [f"{message.id!r}: {'; '.join(map(str, errs))}" for message, errs in catalog.check()]
    assert not errors, f"{lang}: " + " | ".join(errors)


def test_french_login_wording_follows_the_seed():
    """product §3.1: the wording of the French login screen."""
    fr = read_catalogue(po_path("fr"), "fr")
    assert fr.get("Log in to continue.").string == "Connectez-vous pour continuer."
    assert fr.get("LOGIN").string == "IDENTIFIANT"
    assert fr.get("PASSWORD").string == "MOT DE PASSE"
    assert fr.get("Log in").string == "Se connecter"
    assert fr.get("Forgot your login or password?").string == "Identifiant ou mot de passe oublié ?"
    assert fr.get("No account yet? >").string == "Pas encore de compte ? >"
    assert fr.get("Customer space").string == "Espace Client"


def _login_page(test_client, **extra: str) -> str:
    response = test_client.get(AuthorizationRequest(extra=extra).url())
    assert response.status_code == 302, response.text
    assert "/interaction/" in response.headers["Location"]
    return response.headers["Location"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_login_page_in_ui_locales_language(test_client, lang):
    page = test_client.get(_login_page(test_client, ui_locales=lang))
    assert page.status_code == 200
    assert f'<html lang="{lang}">' in page.text
    assert f"<h1>{HEADINGS[lang]}</h1>" in page.text
    for label in LABELS[lang]:
        assert label in page.text, (lang, label)
    for other in set(LANGUAGES) - {lang}:
        assert HEADINGS[other] not in page.text


def test_login_page_defaults_to_french(test_client):
    page = test_client.get(_login_page(test_client))
    assert '<html lang="fr">' in page.text
    assert HEADINGS["fr"] in page.text


@pytest.mark.parametrize("lang", ["nl", "de"])
def test_language_switch_wins_and_is_remembered(test_client, lang):
    login_page = _login_page(test_client, ui_locales="fr")
    switched = test_client.get(login_page + f"?lang={lang}")
    assert HEADINGS[lang] in switched.text
    assert HEADINGS[lang] in test_client.get(_login_page(test_client)).text


def test_accept_language_when_no_ui_locales(test_client):
    login_page = _login_page(test_client)
    page = test_client.get(login_page, headers={"Accept-Language": "de-BE,de;q=0.9,en;q=0.5"})
    assert HEADINGS["de"] in page.text


@pytest.mark.parametrize("lang", LANGUAGES)
def test_wrong_password_message_is_translated(test_client, lang):
    login_page = _login_page(test_client, ui_locales=lang)
    response = submit_login(test_client, login_page, DEMO_ACTIVE, "not-the-password")
    assert response.status_code == 401
    assert WRONG_PASSWORD[lang] in response.text


def test_error_page_for_unknown_client_is_translated(test_client):
    response = test_client.get(AuthorizationRequest(client_id="nobody").url() + "&lang=nl")
    assert response.status_code == 400
    assert "Deze applicatie kennen we niet." in response.text
    assert '<html lang="nl">' in response.text
