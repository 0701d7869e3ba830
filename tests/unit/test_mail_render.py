"""Mail rendering (product §3.4, issue "Mail"): every template in fr, nl, en and de with a text and
an HTML part, the subject from the recipient's catalogue, links only from the issuer (whatever
the request's Host), the link limits from the settings, no external asset."""

from __future__ import annotations

import dataclasses
import re
from email import message_from_bytes
from email import policy

import pytest
from babel.support import Translations
from flask_babel import force_locale

from idp.i18n import LANGUAGES
from idp.mail.links import login_link
from idp.mail.links import reset_link
from idp.mail.links import view_online_link
from idp.mail.outbox import TEMPLATES
from idp.mail.render import MailContextError
from idp.mail.render import compose
from idp.mail.render import period
from idp.mail.render import render
from tests.translations import TRANSLATIONS

SUBJECT_IDS = {
    "activation": "Activate your customer space",
    "account_exists": "You already have a customer space account",
    "customer_already_activated": "Your customer number is already linked to an account",
    "welcome": "Your customer space account is ready",
    "reset_password": "Choose a new password for your customer space",
    "password_changed": "Your customer space password was changed",
    "forgot_login": "Your customer space login",
    "email_change_confirm": "Confirm the new e-mail address of your customer space",
    "email_change_notice": "The e-mail address of your customer space is changing",
    "account_deleted": "Your customer space account was deleted",
}
BRAND = {"fr": "Espace Client", "nl": "Klantenzone", "en": "Customer space", "de": "Kundenbereich"}
LOGIN = "jan<script>@example.be"
URL = re.compile(r"""https?://[^\s"'<>]+""")


def sample_context(template: str, settings) -> dict[str, str]:
    """A context that meets each template's contract (idp/mail/outbox.py TEMPLATES)."""
    contexts = {
        "activation": {
            "link": f"{settings.issuer}/register/abc123",
            "view_online_link": view_online_link(settings, 42),
        },
        "account_exists": {
            "login": LOGIN,
            "login_link": login_link(settings, LOGIN),
            "reset_link": reset_link(settings),
        },
        "customer_already_activated": {
            "login": LOGIN,
            "login_link": login_link(settings, LOGIN),
            "reset_link": reset_link(settings),
        },
        "welcome": {"login": LOGIN, "login_link": login_link(settings, LOGIN)},
        "reset_password": {"link": f"{settings.issuer}/forgot/password/reset/xyz"},
        "password_changed": {"login": LOGIN, "reset_link": reset_link(settings)},
        "forgot_login": {"login": LOGIN, "login_link": login_link(settings, LOGIN)},
        "email_change_confirm": {"link": f"{settings.issuer}/account/email/abc", "login": LOGIN},
        "email_change_notice": {"new_email": LOGIN, "reset_link": reset_link(settings)},
        "account_deleted": {"login": LOGIN, "register_link": f"{settings.issuer}/register"},
    }
    return contexts[template]


@pytest.fixture
def settings(app):
    return app.config["IDP"]


@pytest.fixture
def app_context(app):
    with app.app_context():
        yield


def catalogue_subject(lang: str, template: str) -> str:
    """What the compiled catalogue of ``lang`` says for the template's subject."""
    return Translations.load(str(TRANSLATIONS), [lang]).gettext(SUBJECT_IDS[template])


def test_subject_table_covers_every_template():
    assert set(SUBJECT_IDS) == set(TEMPLATES)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_renders_in_every_language(app_context, settings, template, lang):
    subject, text, html = render(template, lang, sample_context(template, settings), settings)
    assert subject == catalogue_subject(lang, template)
    assert text.strip() and html.strip()
    assert html.startswith("<!doctype html>") and f'<html lang="{lang}">' in html
    assert f"<title>{subject}</title>" in html
    assert BRAND[lang] in text and BRAND[lang] in html
    assert "<" not in text.replace(LOGIN, "")  # the text part carries no markup
    for other in set(LANGUAGES) - {lang}:
        if BRAND[other] != BRAND[lang]:
            assert BRAND[other] not in html


@pytest.mark.parametrize("template", TEMPLATES)
def test_html_part_has_no_external_asset_and_escapes_values(app_context, settings, template):
    _subject, text, html = render(template, "en", sample_context(template, settings), settings)
    for forbidden in ("<img", "<script", "<link", "src=", "url(", "@import"):
        assert forbidden not in html.lower(), forbidden
    if "login" in sample_context(template, settings):
        assert "jan&lt;script&gt;@example.be" in html
        assert LOGIN in text


@pytest.mark.parametrize("template", TEMPLATES)
def test_links_come_from_the_issuer_even_when_the_host_differs(app, settings, template):
    with app.test_request_context("/register", base_url="http://evil.example:8443"):
        _subject, text, html = render(template, "fr", sample_context(template, settings), settings)
    links = URL.findall(text) + re.findall(r'href="([^"]+)"', html)
    assert links
    assert all(link.startswith(settings.issuer + "/") for link in links), links
    assert "evil.example" not in text + html


def test_activation_mail_has_button_security_line_and_view_online_link(app_context, settings):
    context = sample_context("activation", settings)
    _subject, text, html = render("activation", "en", context, settings)
    assert re.search(
        rf'<a href="{re.escape(context["link"])}"[^>]*>Continue my activation</a>', html
    )
    assert "For security reasons this link can be used only 3 times within 3 days." in text
    assert "For security reasons this link can be used only 3 times within 3 days." in html
    assert f'href="{context["view_online_link"]}"' in html
    assert context["view_online_link"] in text
    assert "Dear customer," in text


def test_the_online_version_has_no_view_online_line(app_context, settings):
    context = {"link": f"{settings.issuer}/register/abc123"}
    _subject, text, html = render("activation", "en", context, settings)
    assert "View the online version." not in text + html


def test_french_activation_mail_follows_the_seed(app_context, settings):
    """product §3.4 wording. The French catalogue has it: a missing translation fails here."""
    fr = Translations.load(str(TRANSLATIONS), ["fr"])
    assert fr.gettext("Continue my activation") == "Continuer mon activation"
    subject, text, html = render(
        "activation", "fr", sample_context("activation", settings), settings
    )
    assert subject == "Activer votre Espace Client"
    assert "Continuer mon activation" in html


@pytest.mark.parametrize(
    ("uses", "ttl", "sentence"),
    [
        (3, 3 * 86400, "can be used only 3 times within 3 days."),
        (5, 2 * 86400, "can be used only 5 times within 2 days."),
        (1, 86400, "can be used only once within 1 day."),
        (2, 12 * 3600, "can be used only 2 times within 12 hours."),
        (3, 90 * 60, "can be used only 3 times within 90 minutes."),
    ],
)
def test_link_limits_come_from_the_settings(app_context, settings, uses, ttl, sentence):
    configured = dataclasses.replace(
        settings, registration_link_max_uses=uses, registration_link_ttl=ttl
    )
    _subject, text, html = render(
        "activation", "en", sample_context("activation", settings), configured
    )
    assert sentence in text and sentence in html


def test_reset_mail_states_the_reset_link_lifetime(app_context, settings):
    configured = dataclasses.replace(settings, password_reset_ttl=1800)
    _subject, text, _html = render(
        "reset_password", "en", sample_context("reset_password", settings), configured
    )
    assert "This link can be used once within 30 minutes." in text


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (60, "1 minute"),
        (61, "2 minutes"),
        (3600, "1 hour"),
        (7200, "2 hours"),
        (86400, "1 day"),
        (90000, "25 hours"),
        (90060, "1501 minutes"),
    ],
)
def test_period_in_words(app_context, seconds, words):
    with force_locale("en"):
        assert period(seconds) == words


def test_unknown_language_falls_back_to_the_default(app_context, settings):
    subject, _text, html = render("welcome", "xx", sample_context("welcome", settings), settings)
    assert f'<html lang="{settings.default_language}">' in html
    assert subject == catalogue_subject(settings.default_language, "welcome")


def test_a_missing_context_value_fails_the_mail(app_context, settings):
    with pytest.raises(MailContextError, match="login"):
        render("welcome", "en", {"login_link": login_link(settings)}, settings)


@pytest.mark.parametrize(
    "bad", ["http://evil.example/start-login", "/start-login", "http://localhost.evil.example/x"]
)
def test_a_link_not_under_the_issuer_fails_the_mail(app_context, settings, bad):
    with pytest.raises(MailContextError, match="login_link"):
        render("welcome", "en", {"login": "jan", "login_link": bad}, settings)


def test_compose_builds_multipart_alternative(app_context, settings):
    from idp.models.base import utcnow

    subject, text, html = render("welcome", "nl", sample_context("welcome", settings), settings)
    created = utcnow()
    message = compose(
        to="jan@example.be",
        subject=subject,
        text=text,
        html=html,
        language="nl",
        settings=settings,
        message_key=(7, created),
    )
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed["To"] == "jan@example.be" and parsed["From"] == settings.mail_from
    assert parsed["Subject"] == subject and parsed["Content-Language"] == "nl"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["Message-ID"] == f"<outbox.7.{int(created.timestamp())}@localhost>"
    assert parsed.get_body(("plain",)).get_content() == text
    assert parsed.get_body(("html",)).get_content() == html
