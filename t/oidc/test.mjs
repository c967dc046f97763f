// End-to-end test of jwt_key_request against a real OpenID provider (scripts/test-oidc runs
// it after building the module; see that script for the environment it sets).
//
//   1. key sets A and B (keygen.mjs); the provider (provider.mjs) with A on a free port; nginx
//      with the module and nginx.conf.template on another (2 workers, reuseport, error_log
//      info), prefix target/test-oidc/
//   2. one client_credentials token per resource server (RS256, ES256, EdDSA; header, claims
//      and signature checked here first): nginx accepts each; a tampered signature or payload
//      (signature), a token for another audience (audience), no token (missing), the same
//      claims signed with the provider's key but typ JWT (typ) are refused; the provider
//      served its JWKS exactly once
//   3. rotation: the provider restarts with key set B only (new kids); nginx, not reloaded,
//      accepts B's tokens on both workers after exactly one more JWKS fetch
//   4. A's tokens are refused now (their kids are no longer published: $jwt_error "key"),
//      without a fetch within a second of the last one, with exactly one fetch a second later
//
// Environment: NGINX_BINARY and NGX_JWT_MODULE (required), OIDC_TEST_PREFIX (default
// target/test-oidc), OIDC_TEST_TEMPLATE (another nginx configuration template, to experiment).
// Prints one line per check and, last, "oidc: N passed, M failed"; exits 1 on any failure.
// Stops the provider and nginx on every exit path.
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import {
  closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { writeKeySet } from './keygen.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const PREFIX = resolve(process.env.OIDC_TEST_PREFIX || join(ROOT, 'target/test-oidc'));
const { NGINX_BINARY, NGX_JWT_MODULE } = process.env;

const CLIENT_ID = 'ngx-jwt-test';
const CLIENT_SECRET = 'ngx-jwt-test-secret';
// location -> [resource indicator, JWS alg]
const KINDS = {
  rs256: ['https://rs256.api.test', 'RS256'],
  es256: ['https://es256.api.test', 'ES256'],
  eddsa: ['https://eddsa.api.test', 'EdDSA'],
};
const OK_BODY = 'hello from the protected file\n';

const LOGS = join(PREFIX, 'logs');
const ERROR_LOG = join(LOGS, 'error.log');
const ACCESS_LOG = join(LOGS, 'access.log');
const PROVIDER_LOG = join(LOGS, 'provider.log');

const say = (msg) => console.log(`oidc: ${msg}`);
let passed = 0;
let failed = 0;

function check(what, ok, detail = '') {
  if (ok) {
    passed += 1;
    console.log(`  ok    ${what}`);
  } else {
    failed += 1;
    console.log(`  FAIL  ${what}${detail ? `\n        ${detail}` : ''}`);
  }
  return ok;
}

// --- processes ---------------------------------------------------------------------------------
const children = new Map(); // name -> ChildProcess, while it runs

function startChild(name, command, args, logFile) {
  const fd = openSync(logFile, 'a');
  const child = spawn(command, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  children.set(name, child);
  child.exitInfo = null;
  child.on('exit', (code, signal) => {
    child.exitInfo = signal ? `signal ${signal}` : `status ${code}`;
    children.delete(name);
  });
  writeFileSync(join(LOGS, `${name}.child.pid`), `${child.pid}\n`);
  return child;
}

async function stopChild(name) {
  const child = children.get(name);
  if (!child) return;
  const exited = new Promise((res) => { child.once('exit', res); });
  child.kill('SIGTERM'); // nginx: fast shutdown; provider: closes its server
  const timeout = sleep(5000).then(() => 'timeout');
  if ((await Promise.race([exited, timeout])) === 'timeout') {
    say(`${name} (pid ${child.pid}) did not stop in 5 s: SIGKILL`);
    child.kill('SIGKILL');
    await exited;
  }
  rmSync(join(LOGS, `${name}.child.pid`), { force: true });
}

async function stopAll() {
  await Promise.all([...children.keys()].map(stopChild));
}

// Last resort (an exception past the handlers, process.exit): no process may outlive the test.
process.on('exit', () => {
  for (const child of children.values()) child.kill('SIGKILL');
});
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
  process.on(signal, () => {
    say(`${signal}: stopping`);
    stopAll().finally(() => process.exit(code));
  });
}

// --- HTTP --------------------------------------------------------------------------------------
// One request on a new connection (agent: false), so that nginx's reuseport sockets spread the
// requests over both workers. Resolves { status, headers, body } or rejects on network errors.
function request(port, path, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((res, rej) => {
    const req = http.request({
      host: '127.0.0.1', port, path, method, headers, agent: false, timeout: 10000,
    }, (resp) => {
      const chunks = [];
      resp.on('data', (c) => chunks.push(c));
      resp.on('end', () => res({
        status: resp.statusCode,
        headers: resp.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      }));
      resp.on('error', rej);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${path}`)));
    req.on('error', rej);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function freePort() {
  return new Promise((res, rej) => {
    const srv = net.createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

// Polls until `port` answers `path` with 200, or the process `name` exits, or 15 s pass.
async function waitReady(name, port, path) {
  const deadline = Date.now() + 15000;
  for (;;) {
    const child = children.get(name);
    if (!child) throw new Error(`${name} exited during startup; see its log`);
    try {
      // eslint-disable-next-line no-await-in-loop
      const r = await request(port, path);
      if (r.status === 200) return r;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`${name} did not answer ${path} within 15 s`);
    // eslint-disable-next-line no-await-in-loop
    await sleep(100);
  }
}

// --- JWT helpers -------------------------------------------------------------------------------
const b64json = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

function decode(token) {
  const parts = String(token).split('.');
  if (parts.length !== 3) throw new Error(`not a JWS compact token: ${String(token).slice(0, 40)}...`);
  return { header: b64json(parts[0]), payload: b64json(parts[1]) };
}

// An independent signature check with node:crypto against the key set file (the provider's
// own signing keys), so that a token nginx refuses is known to be good.
function signatureValid(token, keySet) {
  const [h, p, s] = token.split('.');
  const { kid, alg } = b64json(h);
  const jwk = keySet.keys.find((k) => k.kid === kid);
  if (!jwk) return false;
  const { d, p: _p, q, dp, dq, qi, ...pub } = jwk;
  const key = crypto.createPublicKey({ key: pub, format: 'jwk' });
  const data = Buffer.from(`${h}.${p}`);
  const sig = Buffer.from(s, 'base64url');
  switch (alg) {
    case 'RS256': return crypto.verify('sha256', data, key, sig);
    case 'ES256': return crypto.verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig);
    case 'EdDSA': return crypto.verify(null, data, key, sig);
    default: return false;
  }
}

// A token signed here with a key of the set (the provider's own key), for the typ checks.
function signWith(keySet, header, claims) {
  const jwk = keySet.keys.find((k) => k.kid === header.kid);
  const key = crypto.createPrivateKey({ key: jwk, format: 'jwk' });
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const data = `${b64(header)}.${b64(claims)}`;
  let sig;
  switch (header.alg) {
    case 'RS256': sig = crypto.sign('sha256', Buffer.from(data), key); break;
    case 'ES256': sig = crypto.sign('sha256', Buffer.from(data), { key, dsaEncoding: 'ieee-p1363' }); break;
    case 'EdDSA': sig = crypto.sign(null, Buffer.from(data), key); break;
    default: throw new Error(`signWith: ${header.alg}`);
  }
  return `${data}.${sig.toString('base64url')}`;
}

// The same token with its signature's first character changed.
function tamperSignature(token) {
  const i = token.lastIndexOf('.') + 1;
  return token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
}

// The same token with a claim changed in the payload (sub), signature kept.
function tamperPayload(token) {
  const [h, p, s] = token.split('.');
  const claims = b64json(p);
  claims.sub = 'mallory';
  return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
}

// --- logs --------------------------------------------------------------------------------------
const readOr = (file) => (existsSync(file) ? readFileSync(file, 'utf8') : '');
const countLines = (file, re) => readOr(file).split('\n').filter((l) => re.test(l)).length;
// The provider's own count of JWKS requests (provider.mjs logs every request).
const providerJwksHits = () => countLines(PROVIDER_LOG, /^provider: GET \/jwks \d+$/);
// nginx's count: the /_jwks subrequests in the access log (log_subrequest on).
const nginxJwksHits = () => countLines(ACCESS_LOG, / uri=\/_jwks /);

function tail(file, n) {
  const lines = readOr(file).trimEnd().split('\n');
  return lines.slice(-n).join('\n');
}

// --- the test ----------------------------------------------------------------------------------
async function main() {
  if (!NGINX_BINARY || !NGX_JWT_MODULE) {
    throw new Error('NGINX_BINARY and NGX_JWT_MODULE must be set (scripts/test-oidc sets them)');
  }
  for (const f of [NGINX_BINARY, NGX_JWT_MODULE]) {
    if (!existsSync(f)) throw new Error(`${f} does not exist`);
  }

  rmSync(PREFIX, { recursive: true, force: true });
  mkdirSync(LOGS, { recursive: true });
  mkdirSync(join(PREFIX, 'html'));
  mkdirSync(join(PREFIX, 'keys'), { mode: 0o700 });
  writeFileSync(join(PREFIX, 'html/ok.txt'), OK_BODY);

  const keysA = join(PREFIX, 'keys/A.json');
  const keysB = join(PREFIX, 'keys/B.json');
  const setA = writeKeySet(keysA, 'A');
  const setB = writeKeySet(keysB, 'B');
  const kidsA = setA.keys.map((k) => k.kid);
  const kidsB = setB.keys.map((k) => k.kid);
  say(`key set A: ${kidsA.join(' ')}`);
  say(`key set B: ${kidsB.join(' ')}`);

  const oidcPort = await freePort();
  let nginxPort = await freePort();
  while (nginxPort === oidcPort) nginxPort = await freePort(); // eslint-disable-line no-await-in-loop
  const issuer = `http://127.0.0.1:${oidcPort}`;

  // --- provider with key set A ---
  async function startProvider(keys, label) {
    say(`starting the provider on ${issuer} with key set ${label}`);
    startChild('provider', process.execPath, [join(HERE, 'provider.mjs'), '--port', String(oidcPort), '--keys', keys], PROVIDER_LOG);
    const r = await waitReady('provider', oidcPort, '/.well-known/openid-configuration');
    return JSON.parse(r.body);
  }
  const discovery = await startProvider(keysA, 'A');
  check('discovery: issuer and jwks_uri', discovery.issuer === issuer && discovery.jwks_uri === `${issuer}/jwks`,
    `issuer ${discovery.issuer}, jwks_uri ${discovery.jwks_uri}`);
  check('discovery: client_credentials grant, token endpoint',
    discovery.grant_types_supported?.includes('client_credentials') && discovery.token_endpoint === `${issuer}/token`,
    JSON.stringify({ grants: discovery.grant_types_supported, token: discovery.token_endpoint }));

  async function getToken(kind, keySet) {
    const [resource, alg] = KINDS[kind];
    const r = await request(oidcPort, '/token', {
      method: 'POST',
      headers: {
        Authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`,
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource, scope: 'api:read' }).toString(),
    });
    let token = '';
    let header = {};
    let claims = {};
    try {
      token = JSON.parse(r.body).access_token;
      ({ header, payload: claims } = decode(token));
    } catch (e) {
      check(`token for ${resource}: POST /token`, false, `status ${r.status}, ${r.body.slice(0, 300)} (${e.message})`);
      return token;
    }
    const kid = keySet.keys.find((k) => k.alg === alg).kid;
    const now = Math.floor(Date.now() / 1000);
    check(`token for ${resource}: header alg ${alg}, typ at+jwt, kid ${kid}`,
      r.status === 200 && header.alg === alg && header.typ === 'at+jwt' && header.kid === kid,
      `status ${r.status}, header ${JSON.stringify(header)}`);
    check(`  claims iss, aud, exp, client_id, scope; signature valid (node:crypto, key file)`,
      claims.iss === issuer && claims.aud === resource && claims.exp > now && claims.exp <= now + 310
        && claims.client_id === CLIENT_ID && claims.scope === 'api:read' && signatureValid(token, keySet),
      JSON.stringify(claims));
    return token;
  }

  // --- nginx ---
  const html = join(PREFIX, 'html');
  let user = '';
  if (process.getuid?.() === 0) {
    // Workers run as nobody; a checkout nobody cannot read needs root workers for this test.
    const r = spawnSync('runuser', ['-u', 'nobody', '--', 'test', '-r', join(html, 'ok.txt')]);
    if (r.status !== 0) {
      say(`user nobody cannot read ${html}: nginx workers run as root for this test`);
      user = 'user root;';
    }
  }
  const template = process.env.OIDC_TEST_TEMPLATE || join(HERE, 'nginx.conf.template');
  const conf = readFileSync(template, 'utf8')
    .replaceAll('@MODULE@', NGX_JWT_MODULE)
    .replaceAll('@USER@', user)
    .replaceAll('@NGINX_PORT@', String(nginxPort))
    .replaceAll('@OIDC_PORT@', String(oidcPort))
    .replaceAll('@HTML@', html);
  const unfilled = conf.match(/@[A-Z_]+@/);
  if (unfilled) throw new Error(`nginx.conf.template: ${unfilled[0]} not filled in`);
  const confFile = join(PREFIX, 'nginx.conf');
  writeFileSync(confFile, conf);

  const nginxArgs = ['-p', `${PREFIX}/`, '-c', confFile];
  const t = spawnSync(NGINX_BINARY, [...nginxArgs, '-t'], { encoding: 'utf8' });
  if (!check('nginx -t', t.status === 0, (t.stderr || '').trim().replaceAll('\n', '\n        '))) {
    throw Object.assign(new Error('nginx -t failed'), { counted: true });
  }
  say(`starting nginx on 127.0.0.1:${nginxPort} (prefix ${PREFIX})`);
  startChild('nginx', NGINX_BINARY, nginxArgs, join(LOGS, 'nginx.out'));
  await waitReady('nginx', nginxPort, '/health');

  const bearer = (token) => ({ Authorization: `Bearer ${token}` });
  const get = (kind, token) => request(nginxPort, `/${kind}/ok.txt`, { headers: token ? bearer(token) : {} });
  const show = (r) => `status ${r.status}, X-Jwt-Error "${r.headers['x-jwt-error'] ?? ''}", `
    + `WWW-Authenticate "${r.headers['www-authenticate'] ?? ''}", body ${JSON.stringify(r.body.slice(0, 120))}`;
  const accepted = (r) => r.status === 200 && r.body === OK_BODY;
  const refused = (r, code) => r.status === 401 && r.headers['x-jwt-error'] === code
    && /^Bearer\b/.test(r.headers['www-authenticate'] ?? '');

  // --- phase 1: key set A ---
  say('phase 1: tokens signed with key set A');
  const tokensA = {};
  for (const kind of Object.keys(KINDS)) {
    tokensA[kind] = await getToken(kind, setA); // eslint-disable-line no-await-in-loop
  }
  check('JWKS not fetched before the first token reaches nginx', providerJwksHits() === 0,
    `provider /jwks hits: ${providerJwksHits()}`);

  for (const kind of Object.keys(KINDS)) {
    const r = await get(kind, tokensA[kind]); // eslint-disable-line no-await-in-loop
    check(`GET /${kind}/ok.txt with its ${KINDS[kind][1]} token: 200, the file, X-Jwt-Sub ${CLIENT_ID}`,
      accepted(r) && r.headers['x-jwt-sub'] === CLIENT_ID && r.headers['x-jwt-client-id'] === CLIENT_ID,
      show(r));
  }
  // Once more each, now from the cache (whichever worker answers).
  for (const kind of Object.keys(KINDS)) {
    const r = await get(kind, tokensA[kind]); // eslint-disable-line no-await-in-loop
    check(`GET /${kind}/ok.txt with the same token again: 200`, accepted(r), show(r));
  }

  let r = await get('rs256', tamperSignature(tokensA.rs256));
  check('GET /rs256/ok.txt with a tampered signature: 401 signature, WWW-Authenticate: Bearer',
    refused(r, 'signature'), show(r));
  r = await get('es256', tamperPayload(tokensA.es256));
  check('GET /es256/ok.txt with a tampered payload (sub): 401 signature', refused(r, 'signature'), show(r));
  r = await get('es256', tokensA.rs256);
  check('GET /es256/ok.txt with the RS256 token (aud https://rs256.api.test): 401 audience',
    refused(r, 'audience'), show(r));
  r = await get('eddsa');
  check('GET /eddsa/ok.txt without a token: 401 missing, WWW-Authenticate: Bearer',
    refused(r, 'missing'), show(r));
  // jwt_typ at+jwt: another JWT of the same issuer and key (an ID token, say) is no access
  // token. The token's claims (another jti) signed here with the provider's EdDSA key, once
  // with typ "JWT" and once, as a control, with typ "at+jwt".
  {
    const { header, payload: claims } = decode(tokensA.eddsa);
    const payload = { ...claims, jti: `${claims.jti}-test` };
    r = await get('eddsa', signWith(setA, { ...header, typ: 'JWT' }, payload));
    check('GET /eddsa/ok.txt with the same claims and key but typ JWT: 401 typ', refused(r, 'typ'), show(r));
    r = await get('eddsa', signWith(setA, header, payload));
    check('GET /eddsa/ok.txt with the same claims and key, typ at+jwt (control): 200', accepted(r), show(r));
  }

  const hits1 = providerJwksHits();
  check('the provider served its JWKS exactly once (shared cache, 3 kids, 12 requests)', hits1 === 1,
    `provider /jwks hits: ${hits1}`);
  say(`JWKS fetches so far: provider log ${hits1}, nginx access log (/_jwks subrequests) ${nginxJwksHits()}`);
  const phase1End = Date.now();

  // --- phase 2: rotation ---
  say('phase 2: rotation: the provider restarts with key set B only');
  await stopChild('provider');
  const discoveryB = await startProvider(keysB, 'B');
  check('provider restarted, same issuer', discoveryB.issuer === issuer, discoveryB.issuer);
  const publishedB = JSON.parse((await request(oidcPort, '/jwks')).body).keys.map((k) => k.kid);
  // The test's own look at /jwks: counted separately from nginx's fetches below.
  const ownHits = 1;
  check('the provider now publishes exactly key set B',
    JSON.stringify([...publishedB].sort()) === JSON.stringify([...kidsB].sort()), publishedB.join(' '));

  const tokensB = {};
  for (const kind of Object.keys(KINDS)) {
    tokensB[kind] = await getToken(kind, setB); // eslint-disable-line no-await-in-loop
  }
  // refetch=1s: an unknown kid may trigger a fetch only a second after the last one.
  const wait = phase1End + 1200 - Date.now();
  if (wait > 0) await sleep(wait);

  const hitsBefore = providerJwksHits() - ownHits;
  const rotationStart = Date.now();
  let rotationFirstDone = 0;
  const workers = new Set();
  let sent = 0;
  let allAccepted = true;
  let firstBad = null;
  // At least 4 rounds over the three locations, more until both workers answered (max 20).
  for (let round = 0; round < 20 && (round < 4 || workers.size < 2); round += 1) {
    for (const kind of Object.keys(KINDS)) {
      r = await get(kind, tokensB[kind]); // eslint-disable-line no-await-in-loop
      rotationFirstDone ||= Date.now(); // the refetch happened during the first request
      sent += 1;
      if (r.headers['x-worker']) workers.add(r.headers['x-worker']);
      if (!accepted(r)) {
        allAccepted = false;
        firstBad ??= `/${kind}/ok.txt: ${show(r)}`;
      }
    }
  }
  check(`key set B's tokens accepted by the same nginx, no reload (${sent} requests)`, allAccepted, firstBad);
  check('  answered by both workers', workers.size >= 2, `X-Worker values: ${[...workers].join(' ') || 'none'}`);
  const hits2 = providerJwksHits() - ownHits;
  check('  the JWKS was fetched exactly once more for the rotation', hits2 === hitsBefore + 1,
    `provider /jwks hits by nginx: ${hitsBefore} before, ${hits2} after`);

  // --- phase 3: key set A is gone ---
  // Unknown kids may trigger a refetch at most once a second (refetch=1s), over both workers.
  say('phase 3: tokens signed with key set A after the rotation');
  async function unknownKidRound() {
    const before = providerJwksHits();
    const t0 = Date.now();
    let allKey = true;
    let firstWrong = null;
    for (let round = 0; round < 2; round += 1) {
      for (const kind of Object.keys(KINDS)) {
        r = await get(kind, tokensA[kind]); // eslint-disable-line no-await-in-loop
        if (!refused(r, 'key')) {
          allKey = false;
          firstWrong ??= `/${kind}/ok.txt: ${show(r)}`;
        }
      }
    }
    const t1 = Date.now();
    return {
      allKey, firstWrong, t0, t1, before, after: providerJwksHits(),
    };
  }
  // Right after the rotation's refetch: within its second, no fetch at all.
  const u1 = await unknownKidRound();
  check('key set A\'s tokens refused: 401 key (kid no longer published), 6 requests', u1.allKey, u1.firstWrong);
  const sinceRefetch = u1.t1 - rotationStart;
  // nginx keeps time in whole seconds: "a refetch interval after the last fetch" means a later
  // second, which can come 1 ms after it. Only a round inside the rotation's own second must
  // see no fetch at all.
  const sameSecond = (a, b) => Math.floor(a / 1000) === Math.floor(b / 1000);
  if (sameSecond(u1.t1, rotationStart)) {
    check(`  no refetch for their unknown kids within the refetch interval (${sinceRefetch} ms after the last)`,
      u1.after === u1.before, `provider /jwks hits: ${u1.before} before, ${u1.after} after`);
  } else {
    const allowed = Math.floor(u1.t1 / 1000) - Math.floor(rotationStart / 1000);
    check(`  refetches for their unknown kids rate-limited: at most ${allowed} in ${u1.t1 - u1.t0} ms`,
      u1.after - u1.before <= allowed, `provider /jwks hits: ${u1.before} before, ${u1.after} after`);
  }
  check('  error log: "jwt: token rejected (key)"', /jwt: token rejected \(key\)/.test(readOr(ERROR_LOG)),
    'no such line');

  // A second later: the first unknown kid triggers one refetch (still unknown: key), the
  // other five are within its second.
  const lastFetch = u1.after > u1.before ? u1.t1 : rotationFirstDone;
  const pause = lastFetch + 1200 - Date.now();
  if (pause > 0) await sleep(pause);
  const u2 = await unknownKidRound();
  check('after the refetch interval: still 401 key, 6 requests', u2.allKey, u2.firstWrong);
  if (sameSecond(u2.t0, u2.t1)) {
    check(`  exactly one refetch for the 6 requests (${u2.t1 - u2.t0} ms)`, u2.after === u2.before + 1,
      `provider /jwks hits: ${u2.before} before, ${u2.after} after`);
  } else {
    // The round crossed a second: the next second may allow one more.
    const allowed = Math.floor(u2.t1 / 1000) - Math.floor(u2.t0 / 1000) + 1;
    check(`  between 1 and ${allowed} refetches in ${u2.t1 - u2.t0} ms`,
      u2.after > u2.before && u2.after - u2.before <= allowed,
      `provider /jwks hits: ${u2.before} before, ${u2.after} after`);
  }
  say(`JWKS fetches in all: provider log ${u2.after} (1 by this test), nginx access log ${nginxJwksHits()}`);

  // nginx still healthy: no worker crashed, nothing alarming logged.
  const errorLog = readOr(ERROR_LOG);
  const bad = errorLog.split('\n').filter((l) => /\[(alert|crit|emerg)\]|exited on signal/.test(l));
  check('error log: no [alert]/[crit]/[emerg], no worker exited on a signal', bad.length === 0,
    bad.slice(0, 5).join('\n        '));
}

// The whole run takes a few seconds; a hang (a request nginx never answers, a process that
// does not start) fails the test after TIMEOUT_MS instead of blocking the caller.
const TIMEOUT_MS = 60000;
let code = 0;
let watchdog;
try {
  await Promise.race([
    main(),
    new Promise((_, rej) => {
      watchdog = setTimeout(() => rej(new Error(`timed out after ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS);
    }),
  ]);
} catch (e) {
  if (!e.counted) check(`the test ran to the end (${e.message})`, false, e.stack?.split('\n').slice(1, 4).join('\n        '));
}
clearTimeout(watchdog);
await stopAll();
if (failed > 0) {
  say(`nginx error log (${ERROR_LOG}), last lines:`);
  console.log(tail(ERROR_LOG, 40));
  say(`provider log (${PROVIDER_LOG}), last lines:`);
  console.log(tail(PROVIDER_LOG, 30));
  code = 1;
}
console.log(`oidc: ${passed} passed, ${failed} failed`);
process.exit(code);
