// The peer of `make bench`: node-oidc-provider 9 configured like this provider.
//
//   node bench/peer.js --port 5150 --users 200 --password P --secret S
//
// Same clients (smart-app: public, PKCE, loopback redirect on any port, refresh tokens rotated
// at every use; customer-space: confidential, client_secret_basic), same scopes and claims
// (eligibility computed at every call from the account's contracts), argon2id at the same
// parameters (m=19456 KiB, t=2, p=1) through @node-rs/argon2, RS256 ID tokens, introspection
// and revocation on. In-memory store (its default adapter). Loopback only. Prints "ready".
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import { Algorithm, hash, verify } from '@node-rs/argon2';
import * as jose from 'jose';
import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    users: { type: 'string', default: '200' },
    password: { type: 'string', default: 'Zonnepaneel-2026!' },
    secret: { type: 'string', default: 'dev-customer-space-secret' },
  },
});
const ARGON2 = { algorithm: Algorithm.Argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 };
const issuer = `http://127.0.0.1:${args.port}`;

async function signingKeys() {
  // Like this provider's keys/: a current and a next key for RS256 and for ES256.
  const keys = [];
  for (const alg of ['RS256', 'RS256', 'ES256', 'ES256']) {
    const { privateKey } = await jose.generateKeyPair(alg, { extractable: true });
    const jwk = await jose.exportJWK(privateKey);
    keys.push({ ...jwk, alg, use: 'sig', kid: await jose.calculateJwkThumbprint(jwk) });
  }
  return keys;
}

async function accounts() {
  const byLogin = new Map();
  const bySub = new Map();
  for (let i = 0; i < Number(args.users); i += 1) {
    const account = {
      sub: `bench-${i}-${Math.random().toString(36).slice(2)}`,
      login: `bench-user-${i}@example.be`,
      name: `Bench Customer ${i}`,
      passwordHash: await hash(args.password, ARGON2),
      contracts: [{ status: 'active', start: '2024-01-01', end: null }],
    };
    byLogin.set(account.login, account);
    bySub.set(account.sub, account);
  }
  return { byLogin, bySub };
}

function eligibility(account) {
  const today = new Date().toLocaleDateString('en-CA', { timeZone: 'Europe/Brussels' });
  const active = account.contracts.some(
    (c) => c.status === 'active' && c.start <= today && (c.end === null || today < c.end),
  );
  return {
    eligible: active,
    reason: active ? null : 'no_active_contract',
    checked_at: Math.floor(Date.now() / 1000),
  };
}

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid, login, error) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Log in</title></head>
<body><main><h1>Log in to continue.</h1>${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}">
<label>Login <input name="login" value="${escape(login)}" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Log in</button></form></main></body></html>`;
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function main() {
  const users = await accounts();
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'smart-app',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        redirect_uris: ['http://127.0.0.1/callback'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        scope: 'openid profile email offline_access eligibility',
      },
      {
        client_id: 'customer-space',
        client_secret: args.secret,
        token_endpoint_auth_method: 'client_secret_basic',
        redirect_uris: ['http://127.0.0.1:5001/callback'],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        scope: 'openid profile email eligibility',
      },
    ],
    jwks: { keys: await signingKeys() },
    cookies: { keys: ['bench-cookie-key-not-secret'] },
    scopes: ['openid', 'profile', 'email', 'offline_access', 'eligibility'],
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username', 'locale'],
      email: ['email', 'email_verified'],
      eligibility: ['eligibility'],
    },
    features: {
      devInteractions: { enabled: false },
      introspection: { enabled: true, allowedPolicy: (ctx, client, token) => token.clientId === client.clientId },
      revocation: { enabled: true },
    },
    pkce: { required: () => true },
    rotateRefreshToken: true,
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, RefreshToken: 2592000, Grant: 2592000, Session: 43200, Interaction: 1800 },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, sub) {
      const account = users.bySub.get(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        async claims() {
          return {
            sub,
            name: account.name,
            preferred_username: account.login,
            locale: 'fr',
            email: account.login,
            email_verified: true,
            eligibility: eligibility(account),
          };
        },
      };
    },
  });

  async function interaction(req, res) {
    const details = await provider.interactionDetails(req, res);
    const uid = details.uid;
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(loginPage(uid, details.params.login_hint ?? '', null));
      return;
    }
    const form = await readForm(req);
    const account = users.byLogin.get((form.get('login') ?? '').trim().toLowerCase());
    const password = form.get('password') ?? '';
    if (!account || !(await verify(account.passwordHash, password, ARGON2))) {
      res.writeHead(401, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(loginPage(uid, form.get('login') ?? '', 'This login or password is not correct.'));
      return;
    }
    // First-party clients: the grant covers what was asked, as this provider's does.
    const grant = new provider.Grant({ accountId: account.sub, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: account.sub, amr: ['pwd'] }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  }

  const callback = provider.callback();
  const server = createServer(async (req, res) => {
    if (req.url.startsWith('/interaction/')) {
      try {
        await interaction(req, res);
      } catch (error) {
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end(String(error.message ?? error));
      }
      return;
    }
    callback(req, res);
  });
  server.keepAliveTimeout = 30_000;
  server.listen(Number(args.port), '127.0.0.1', () => process.stdout.write('ready\n'));
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
