"""The customer space reference client: a confidential web app (client_secret_basic + PKCE)
built on Authlib's Flask client. It talks HTTP to the provider and never imports ``idp``."""
