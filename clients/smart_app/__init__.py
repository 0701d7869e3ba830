"""The Smart App reference client (a public native app, RFC 8252)."""
