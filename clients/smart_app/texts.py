"""The Smart App's own words in French, Dutch, English and German (the app is a product of its
own, with its own strings; the provider's catalogue is not shared). Imports nothing."""

from __future__ import annotations

LANGUAGES = ("fr", "nl", "en", "de")
DEFAULT_LANGUAGE = "fr"
# Bump when the terms change: every user is asked to accept them again (SPEC §6).
TERMS_VERSION = "2026-01"

STRINGS: dict[str, dict[str, str]] = {
    "fr": {
        "language": "Langue",
        "terms_title": "Conditions d'utilisation et politique de confidentialité",
        "terms_body": (
            "La Smart App vous montre la consommation et la production d'énergie de votre "
            "maison. Elle utilise le compte de votre espace client pour vous identifier et "
            "vérifie que vous avez un contrat actif. Vos données restent sur cet appareil et "
            "chez votre fournisseur ; elles ne sont jamais vendues."
        ),
        "terms_checkbox": "J'ai lu et j'accepte les conditions d'utilisation et la politique "
        "de confidentialité.",
        "terms_accept": "Accepter",
        "terms_required": "Cochez la case pour continuer.",
        "welcome_title": "Bienvenue",
        "welcome_text": "Connectez-vous avec le compte de votre espace client ou créez-en un.",
        "login": "Se connecter",
        "create": "Créer un compte",
        "home_title": "Bonjour {name} !",
        "home_text": "Votre contrat est actif : votre maison est connectée à la Smart App.",
        "logout": "Se déconnecter",
        "error_title": "Vous ne pouvez pas utiliser l'app",
        "error_text": "Il vous faut un contrat actif chez nous pour utiliser l'app. "
        "Contactez-nous via l'in-app chat afin de recevoir de l'aide.",
        "back": "Retour",
        "reason": "Motif :",
        "reason_no_customer_linked": "aucun client n'est lié à ce compte",
        "reason_no_active_contract": "aucun contrat actif",
        "reason_account_disabled": "compte désactivé",
        "reason_unknown": "information indisponible",
        "notice_login_failed": "La connexion n'a pas abouti. Veuillez réessayer.",
        "notice_session_ended": "Votre session a pris fin. Connectez-vous à nouveau.",
        "notice_offline": "Le service est injoignable pour le moment. Réessayez plus tard.",
        "notice_logged_out": "Vous êtes déconnecté.",
        "refused_title": "Demande refusée",
        "refused_text": "Cette demande de connexion ne vient pas de notre service.",
    },
    "nl": {
        "language": "Taal",
        "terms_title": "Gebruiksvoorwaarden en privacybeleid",
        "terms_body": (
            "De Smart App toont het energieverbruik en de energieproductie van je woning. Ze "
            "gebruikt de account van je klantenzone om je te identificeren en controleert of "
            "je een actief contract hebt. Je gegevens blijven op dit toestel en bij je "
            "leverancier; ze worden nooit verkocht."
        ),
        "terms_checkbox": "Ik heb de gebruiksvoorwaarden en het privacybeleid gelezen en "
        "aanvaard ze.",
        "terms_accept": "Aanvaarden",
        "terms_required": "Vink het vakje aan om verder te gaan.",
        "welcome_title": "Welkom",
        "welcome_text": "Meld je aan met de account van je klantenzone of maak er een aan.",
        "login": "Aanmelden",
        "create": "Account aanmaken",
        "home_title": "Hallo {name}!",
        "home_text": "Je contract is actief: je woning is verbonden met de Smart App.",
        "logout": "Afmelden",
        "error_title": "Je kunt de app niet gebruiken",
        "error_text": "Je hebt een actief contract bij ons nodig om de app te gebruiken. "
        "Neem contact met ons op via de in-app chat om hulp te krijgen.",
        "back": "Terug",
        "reason": "Reden:",
        "reason_no_customer_linked": "er is geen klant aan deze account gekoppeld",
        "reason_no_active_contract": "geen actief contract",
        "reason_account_disabled": "account uitgeschakeld",
        "reason_unknown": "informatie niet beschikbaar",
        "notice_login_failed": "Het aanmelden is niet gelukt. Probeer het opnieuw.",
        "notice_session_ended": "Je sessie is beëindigd. Meld je opnieuw aan.",
        "notice_offline": "De dienst is momenteel onbereikbaar. Probeer het later opnieuw.",
        "notice_logged_out": "Je bent afgemeld.",
        "refused_title": "Verzoek geweigerd",
        "refused_text": "Dit aanmeldverzoek komt niet van onze dienst.",
    },
    "en": {
        "language": "Language",
        "terms_title": "Terms of use and privacy policy",
        "terms_body": (
            "The Smart App shows the energy your home uses and produces. It identifies you "
            "with your customer-space account and checks that you have an active contract. "
            "Your data stays on this device and with your supplier; it is never sold."
        ),
        "terms_checkbox": "I have read and accept the terms of use and the privacy policy.",
        "terms_accept": "Accept",
        "terms_required": "Tick the box to continue.",
        "welcome_title": "Welcome",
        "welcome_text": "Log in with your customer-space account or create one.",
        "login": "Log in",
        "create": "Create an account",
        "home_title": "Hello {name}!",
        "home_text": "Your contract is active: your home is connected to the Smart App.",
        "logout": "Log out",
        "error_title": "You cannot use the app",
        "error_text": "You need an active contract with us to use the app. "
        "Contact us through the in-app chat to get help.",
        "back": "Back",
        "reason": "Reason:",
        "reason_no_customer_linked": "no customer is linked to this account",
        "reason_no_active_contract": "no active contract",
        "reason_account_disabled": "account disabled",
        "reason_unknown": "information unavailable",
        "notice_login_failed": "The login did not complete. Please try again.",
        "notice_session_ended": "Your session has ended. Please log in again.",
        "notice_offline": "The service cannot be reached right now. Try again later.",
        "notice_logged_out": "You are logged out.",
        "refused_title": "Request refused",
        "refused_text": "This login request does not come from our service.",
    },
    "de": {
        "language": "Sprache",
        "terms_title": "Nutzungsbedingungen und Datenschutzerklärung",
        "terms_body": (
            "Die Smart App zeigt den Energieverbrauch und die Energieerzeugung Ihres Hauses. "
            "Sie identifiziert Sie mit dem Konto Ihres Kundenbereichs und prüft, ob Sie einen "
            "aktiven Vertrag haben. Ihre Daten bleiben auf diesem Gerät und bei Ihrem "
            "Versorger; sie werden niemals verkauft."
        ),
        "terms_checkbox": "Ich habe die Nutzungsbedingungen und die Datenschutzerklärung "
        "gelesen und akzeptiere sie.",
        "terms_accept": "Akzeptieren",
        "terms_required": "Kreuzen Sie das Kästchen an, um fortzufahren.",
        "welcome_title": "Willkommen",
        "welcome_text": "Melden Sie sich mit dem Konto Ihres Kundenbereichs an oder "
        "erstellen Sie eines.",
        "login": "Anmelden",
        "create": "Konto erstellen",
        "home_title": "Hallo {name}!",
        "home_text": "Ihr Vertrag ist aktiv: Ihr Haus ist mit der Smart App verbunden.",
        "logout": "Abmelden",
        "error_title": "Sie können die App nicht nutzen",
        "error_text": "Sie benötigen einen aktiven Vertrag bei uns, um die App zu nutzen. "
        "Kontaktieren Sie uns über den In-App-Chat, um Hilfe zu erhalten.",
        "back": "Zurück",
        "reason": "Grund:",
        "reason_no_customer_linked": "diesem Konto ist kein Kunde zugeordnet",
        "reason_no_active_contract": "kein aktiver Vertrag",
        "reason_account_disabled": "Konto deaktiviert",
        "reason_unknown": "Information nicht verfügbar",
        "notice_login_failed": "Die Anmeldung ist nicht gelungen. Bitte versuchen Sie es erneut.",
        "notice_session_ended": "Ihre Sitzung ist beendet. Bitte melden Sie sich erneut an.",
        "notice_offline": "Der Dienst ist derzeit nicht erreichbar. Versuchen Sie es später "
        "erneut.",
        "notice_logged_out": "Sie sind abgemeldet.",
        "refused_title": "Anfrage abgelehnt",
        "refused_text": "Diese Anmeldeanfrage kommt nicht von unserem Dienst.",
    },
}


def strings(language: str) -> dict[str, str]:
    """The strings of ``language``, French when it is not one of the app's languages."""
    return STRINGS.get(language, STRINGS[DEFAULT_LANGUAGE])


def reason_text(language: str, reason: str | None) -> str:
    """The eligibility ``reason`` (SPEC §4) in words."""
    table = strings(language)
    return table.get(f"reason_{reason}", table["reason_unknown"])
