// The load generator of `make bench`: one scenario against one provider, bounded in time.
//
//   node bench/load.js --issuer URL --scenario NAME --seconds S --concurrency C \
//        --pids 123,124 --users N --password P --secret S
//
// Every endpoint comes from the provider's discovery document, so the same code drives this
// provider and node-oidc-provider. The login flow follows redirects and fills the login form it
// is given (hidden fields included), as a browser would. Tokens that refresh, userinfo and
// introspection need are obtained before the clock starts. Server CPU time is read from
// /proc/<pid>/stat of the given processes (all their threads) before and after the timed part.
// Prints one JSON line. Only loopback addresses are accepted.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { Agent, request } from 'undici';

const { values: args } = parseArgs({
  options: {
    issuer: { type: 'string' },
    scenario: { type: 'string' },
    seconds: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '16' },
    pids: { type: 'string', default: '' },
    users: { type: 'string', default: '200' },
    password: { type: 'string', default: 'Zonnepaneel-2026!' },
    secret: { type: 'string', default: 'dev-customer-space-secret' },
  },
});

const issuer = new URL(args.issuer);
if (!['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname)) {
  throw new Error('make bench only targets loopback addresses');
}
const SECONDS = Number(args.seconds);
const CONCURRENCY = Number(args.concurrency);
const USERS = Number(args.users);
const PIDS = args.pids.split(',').filter(Boolean).map(Number);
const APP = { id: 'smart-app', redirect: 'http://127.0.0.1:40000/callback' };
const WEB = { id: 'customer-space', redirect: 'http://127.0.0.1:5001/callback' };
const SCOPE = {
  'smart-app': 'openid profile email offline_access eligibility',
  'customer-space': 'openid profile email eligibility',
};
const agent = new Agent({ connections: CONCURRENCY * 2, keepAliveTimeout: 30_000 });
const TICKS = 100; // USER_HZ on Linux

function cpuSeconds() {
  let ticks = 0;
  for (const pid of PIDS) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
  }
  return ticks / TICKS;
}

async function call(method, url, { headers = {}, body, jar } = {}) {
  const target = new URL(url, issuer);
  const sent = { ...headers };
  if (jar && jar.size) sent.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  if (body !== undefined) sent['content-type'] = 'application/x-www-form-urlencoded';
  const res = await request(target, { method, headers: sent, body, dispatcher: agent });
  const text = await res.body.text();
  if (jar) {
    let cookies = res.headers['set-cookie'] ?? [];
    if (!Array.isArray(cookies)) cookies = [cookies];
    for (const line of cookies) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const gone = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || /expires=Thu, 01 Jan 1970/i.test(a));
      if (gone) jar.delete(name); else jar.set(name, pair.slice(eq + 1).trim());
    }
  }
  return { status: res.statusCode, headers: res.headers, text, url: target };
}

function fail(step, res) {
  throw new Error(`${step}: HTTP ${res.status} ${res.text.slice(0, 200)}`);
}

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

function formOf(html, base) {
  const form = html.match(/<form[^>]*method="post"[^>]*>([\s\S]*?)<\/form>/i);
  if (!form) throw new Error('no login form');
  const action = form[0].match(/action="([^"]*)"/i)?.[1] ?? '';
  const fields = {};
  for (const input of form[1].matchAll(/<input[^>]*type="hidden"[^>]*>/gi)) {
    const name = input[0].match(/name="([^"]+)"/i)?.[1];
    const value = input[0].match(/value="([^"]*)"/i)?.[1] ?? '';
    if (name) fields[name] = value.replaceAll('&amp;', '&');
  }
  return { action: new URL(action.replaceAll('&amp;', '&'), base), fields };
}

const form = (data) => new URLSearchParams(data).toString();
const basic = (id, secret) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function loginFlow(meta, client, user) {
  const jar = new Map();
  const { verifier, challenge } = pkce();
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: client.id,
    redirect_uri: client.redirect,
    scope: SCOPE[client.id],
    // offline_access needs prompt=consent at node-oidc-provider (OIDC Core §11); ours accepts it.
    prompt: 'consent',
    state: randomBytes(8).toString('hex'),
    nonce: randomBytes(8).toString('hex'),
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  let res = await call('GET', `${meta.authorization_endpoint}?${params}`, { jar });
  if (res.status < 300 || res.status > 303) fail('authorize', res);
  const pageUrl = new URL(res.headers.location, res.url);
  res = await call('GET', pageUrl, { jar });
  if (res.status !== 200) fail('login page', res);
  const { action, fields } = formOf(res.text, pageUrl);
  const login = `bench-user-${user}@example.be`;
  res = await call('POST', action, { jar, body: form({ ...fields, login, password: args.password }) });
  let location = res.headers.location;
  for (let hops = 0; location && !location.startsWith(client.redirect) && hops < 5; hops += 1) {
    res = await call('GET', new URL(location, res.url), { jar });
    location = res.headers.location;
  }
  if (!location?.startsWith(client.redirect)) fail('code', res);
  const code = new URL(location).searchParams.get('code');
  if (!code) fail('code', res);
  const body = { grant_type: 'authorization_code', code, redirect_uri: client.redirect, code_verifier: verifier };
  const headers = {};
  if (client === WEB) headers.authorization = basic(WEB.id, args.secret);
  else body.client_id = client.id;
  res = await call('POST', meta.token_endpoint, { headers, body: form(body) });
  if (res.status !== 200) fail('token', res);
  return JSON.parse(res.text);
}

const randomUser = () => Math.floor(Math.random() * USERS);

async function scenarioFor(meta, name) {
  const get = (url, headers) => async () => {
    const res = await call('GET', url, { headers });
    if (res.status !== 200) fail(name, res);
  };
  switch (name) {
    case 'discovery':
      return get(`${issuer.href.replace(/\/$/, '')}/.well-known/openid-configuration`);
    case 'jwks':
      return get(meta.jwks_uri);
    case 'login':
      return () => loginFlow(meta, APP, randomUser());
    case 'refresh': {
      // One rotation chain per concurrent caller: rotation is sequential within a chain.
      const chains = [];
      for (let i = 0; i < CONCURRENCY; i += 1) chains.push(await loginFlow(meta, APP, i % USERS));
      return async (caller) => {
        const chain = chains[caller];
        const taken = chain.refresh_token;
        const res = await call('POST', meta.token_endpoint, {
          body: form({ grant_type: 'refresh_token', refresh_token: taken, client_id: APP.id }),
        });
        if (res.status !== 200) fail('refresh', res);
        const token = JSON.parse(res.text);
        if (!token.id_token || !token.refresh_token) fail('refresh', res);
        chain.refresh_token = token.refresh_token;
      };
    }
    case 'userinfo': {
      const tokens = [];
      for (let i = 0; i < CONCURRENCY; i += 1) tokens.push((await loginFlow(meta, APP, i % USERS)).access_token);
      return async () => {
        const token = tokens[Math.floor(Math.random() * tokens.length)];
        const res = await call('GET', meta.userinfo_endpoint, { headers: { authorization: `Bearer ${token}` } });
        if (res.status !== 200 || !JSON.parse(res.text).eligibility) fail('userinfo', res);
      };
    }
    case 'introspection': {
      const tokens = [];
      for (let i = 0; i < 4; i += 1) tokens.push((await loginFlow(meta, WEB, i % USERS)).access_token);
      const authorization = basic(WEB.id, args.secret);
      return async () => {
        const token = tokens[Math.floor(Math.random() * tokens.length)];
        const res = await call('POST', meta.introspection_endpoint, { headers: { authorization }, body: form({ token }) });
        if (res.status !== 200 || JSON.parse(res.text).active !== true) fail('introspection', res);
      };
    }
    default:
      throw new Error(`unknown scenario ${name}`);
  }
}

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main() {
  const meta = JSON.parse((await call('GET', '/.well-known/openid-configuration')).text);
  const op = await scenarioFor(meta, args.scenario);
  const latencies = [];
  let errors = 0;
  let firstError = null;
  const cpu0 = cpuSeconds();
  const t0 = performance.now();
  const deadline = t0 + SECONDS * 1000;
  // `concurrency` callers; for refresh each caller owns one rotation chain.
  const worker = async (_, caller) => {
    while (performance.now() < deadline) {
      const start = performance.now();
      try {
        await op(caller);
        latencies.push(performance.now() - start);
      } catch (error) {
        errors += 1;
        firstError ??= String(error.message ?? error);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds() - cpu0;
  latencies.sort((a, b) => a - b);
  const result = {
    scenario: args.scenario,
    ops: latencies.length,
    errors,
    first_error: firstError,
    seconds: elapsed,
    server_cpu_seconds: cpu,
    ops_per_second: latencies.length / elapsed,
    ops_per_cpu_second: cpu > 0 ? latencies.length / cpu : null,
    p50_ms: percentile(latencies, 50),
    p95_ms: percentile(latencies, 95),
    p99_ms: percentile(latencies, 99),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  await agent.close();
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
