"""DPoP proofs (RFC 9449): checking the ``DPoP`` header of a token or userinfo request.

Authlib 1.9.10 has no DPoP support; the checks are those of RFC 9449 §4.3, on joserfc:
one header, ``typ`` ``dpop+jwt``, an asymmetric ``alg`` we advertise, a public ``jwk`` that
verifies the signature, ``htm`` and ``htu`` of this request (the issuer's URL of the endpoint:
behind a proxy the request's own URL may differ), ``iat`` within a short window, a ``jti``
never seen before (idp/oauth/replay.py), and ``ath`` when an access token is presented (§7).
No server nonce is issued (§8 makes it optional); a proof carrying one is not refused for it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2 import OAuth2Error
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from joserfc.jwk import RSAKey
from joserfc.jws import JWSRegistry
from joserfc.util import to_bytes

from idp.oauth.replay import ReplayStoreError
from idp.oauth.replay import first_use

ALGORITHMS = ["ES256", "RS256", "PS256"]  # asymmetric only (§4.2); advertised in discovery
MAX_PROOF_LENGTH = 8192
IAT_PAST = 60  # seconds a proof stays acceptable after its iat
IAT_FUTURE = 10  # clock skew allowed ahead
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k"}
DEFAULT_PORTS = {"http": 80, "https": 443}


def _registry() -> JWSRegistry:
    """joserfc's registry for our algorithms, with room for the header's ``jwk`` (an RSA
    4096 public key is about 800 bytes base64url; joserfc allows 512 by default)."""
    registry = JWSRegistry(algorithms=ALGORITHMS)
    registry.max_header_length = 2048
    return registry


class InvalidDPoPProofError(OAuth2Error):
    """RFC 9449 §5 / §7.1: the proof is missing, malformed or does not fit the request."""

    error = "invalid_dpop_proof"
    status_code = 400


@dataclass(frozen=True)
class Proof:
    """A checked proof: the thumbprint of its key (RFC 7638, SHA-256) and its jti."""

    jkt: str
    jti: str


def access_token_hash(access_token: str) -> str:
    """``ath``: base64url of the SHA-256 of the access token's ASCII (§4.2)."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def proof_header(headers: Any) -> str | None:
    """The one ``DPoP`` header of a request, None without one (§4.3 check 1: never two)."""
    values = headers.getlist("DPoP") if hasattr(headers, "getlist") else [headers.get("DPoP")]
    values = [v for v in values if v is not None]
    if len(values) > 1:
        raise InvalidDPoPProofError("More than one DPoP header.")
    return values[0] if values else None


def _public_key(header: dict[str, Any]) -> RSAKey | ECKey:
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or PRIVATE_MEMBERS & set(jwk):
        raise InvalidDPoPProofError("The proof's 'jwk' must be a public key.")
    try:
        if jwk.get("kty") == "EC":
            return ECKey.import_key(jwk)
        if jwk.get("kty") == "RSA":
            return RSAKey.import_key(jwk)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise InvalidDPoPProofError("The proof's 'jwk' is not a key.") from exc
    raise InvalidDPoPProofError("The proof's 'jwk' is not an EC or RSA key.")


def _verified(proof: str) -> tuple[dict[str, Any], dict[str, Any], RSAKey | ECKey]:
    """Header, claims and key of a proof whose signature its own ``jwk`` verifies."""
    if len(proof) > MAX_PROOF_LENGTH:
        raise InvalidDPoPProofError("The DPoP proof is too long.")
    try:
        header = jws.extract_compact(to_bytes(proof), registry=_registry()).headers()
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidDPoPProofError("The DPoP proof is not a JWT.") from exc
    if header.get("typ") != "dpop+jwt":
        raise InvalidDPoPProofError("The proof's 'typ' must be 'dpop+jwt'.")
    if header.get("alg") not in ALGORITHMS:
        raise InvalidDPoPProofError("The proof's 'alg' is not supported.")
    key = _public_key(header)
    try:
        verified = jws.deserialize_compact(proof, key, registry=_registry())
        claims = json.loads(verified.payload)
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidDPoPProofError("The proof's signature does not verify.") from exc
    if not isinstance(claims, dict):
        raise InvalidDPoPProofError("The proof's payload is not a JSON object.")
    return header, claims, key


def _normalised(uri: str) -> tuple[str, str, int | None, str]:
    """RFC 3986 §6.2.2 / §6.2.3 normalisation of scheme, host, port and path (§4.3 asks it
    before comparing ``htu``): case of scheme and host, default port, empty path."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    port = parts.port
    if port == DEFAULT_PORTS.get(scheme):
        port = None
    return scheme, (parts.hostname or "").lower(), port, parts.path or "/"


def same_target(htu: object, url: str) -> bool:
    """True when ``htu`` names ``url`` (RFC 9449 §4.3 check 9); ``htu`` has no query or
    fragment (§4.2)."""
    if not isinstance(htu, str):
        return False
    try:
        if urlsplit(htu).query or urlsplit(htu).fragment or "?" in htu or "#" in htu:
            return False
        return _normalised(htu) == _normalised(url)
    except ValueError:
        return False


def check_proof(proof: str, *, method: str, url: str, access_token: str | None = None) -> Proof:
    """RFC 9449 §4.3: the proof fits this request (``url`` without query and fragment), is
    fresh and unused; with ``access_token``, its ``ath`` names it (§7)."""
    _header, claims, key = _verified(proof)
    jti, iat = claims.get("jti"), claims.get("iat")
    if not isinstance(jti, str) or not 0 < len(jti) <= 256:
        raise InvalidDPoPProofError("The proof needs a 'jti'.")
    if claims.get("htm") != method:
        raise InvalidDPoPProofError("The proof's 'htm' is not this request's method.")
    if not same_target(claims.get("htu"), url):
        raise InvalidDPoPProofError("The proof's 'htu' is not this endpoint.")
    now = time.time()
    if not isinstance(iat, int | float) or not now - IAT_PAST <= iat <= now + IAT_FUTURE:
        raise InvalidDPoPProofError("The proof's 'iat' is not recent.")
    if access_token is not None and claims.get("ath") != access_token_hash(access_token):
        raise InvalidDPoPProofError("The proof's 'ath' does not match the access token.")
    jkt = key.thumbprint()
    try:
        unused = first_use(f"dpop/{jkt}", jti, IAT_PAST + IAT_FUTURE)
    except ReplayStoreError as exc:
        raise InvalidDPoPProofError("The proof cannot be checked now.") from exc
    if not unused:
        raise InvalidDPoPProofError("The proof was used before.")
    return Proof(jkt=jkt, jti=jti)


def token_request_proof(request: Any, client: Any, issuer: str) -> Proof | None:
    """The proof of a token request (§5), None without one; required when the client
    registered ``dpop_bound_access_tokens`` (§5.2)."""
    header = proof_header(request.headers)
    if header is None:
        if client.dpop_bound_access_tokens:
            raise InvalidDPoPProofError("This client must send a DPoP proof.")
        return None
    return check_proof(header, method="POST", url=f"{issuer}/token")
