// A real OpenID provider for the end-to-end test scripts/test-oidc: oidc-provider (panva,
// OpenID Certified), configured as an OAuth 2.0 authorization server for machine clients.
//
//   node t/oidc/provider.mjs --port PORT --keys KEYS.json
//
// (or OIDC_PORT / OIDC_KEYS in the environment). KEYS.json is a JWKS with private parts, as
// keygen.mjs writes it; /jwks publishes exactly its public halves, so restarting the provider
// with another file rotates the keys.
//
// * issuer http://127.0.0.1:PORT, discovery at /.well-known/openid-configuration
// * the client_credentials grant for one confidential client (HTTP Basic, client_secret_basic):
//   client_id ngx-jwt-test, client_secret ngx-jwt-test-secret
// * resource indicators (RFC 8707): three resource servers, each issuing JWT access tokens
//   (RFC 9068, header typ at+jwt) signed with its own algorithm:
//     https://rs256.api.test  RS256      https://es256.api.test  ES256
//     https://eddsa.api.test  EdDSA
//   POST /token grant_type=client_credentials&resource=https://es256.api.test&scope=api:read
// * every request is logged on stdout as "provider: METHOD PATH STATUS" (the test counts the
//   JWKS fetches with these lines).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import Provider, { errors } from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.OIDC_PORT },
    host: { type: 'string', default: process.env.OIDC_HOST || '127.0.0.1' },
    keys: { type: 'string', default: process.env.OIDC_KEYS },
  },
});
if (!args.port || !/^\d+$/.test(args.port) || !args.keys) {
  console.error('usage: node provider.mjs --port PORT --keys KEYS.json');
  process.exit(2);
}

const log = (line) => console.log(`provider: ${line}`);
const jwks = JSON.parse(readFileSync(args.keys, 'utf8'));
const issuer = `http://${args.host}:${args.port}`;

const CLIENT_ID = 'ngx-jwt-test';
const CLIENT_SECRET = 'ngx-jwt-test-secret';
const SCOPES = 'api:read api:write';

// Resource indicator -> the JWS algorithm of its access tokens.
const RESOURCE_SERVERS = {
  'https://rs256.api.test': 'RS256',
  'https://es256.api.test': 'ES256',
  'https://eddsa.api.test': 'EdDSA',
};

const provider = new Provider(issuer, {
  jwks,
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: SCOPES,
    },
  ],
  scopes: SCOPES.split(' '),
  cookies: { keys: ['ngx-jwt-test-cookie-key'] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // No resource parameter: no default audience, an opaque token (unusable by nginx).
      defaultResource: () => undefined,
      useGrantedResource: () => true,
      getResourceServerInfo(ctx, resourceIndicator) {
        const alg = RESOURCE_SERVERS[resourceIndicator];
        if (!alg) {
          throw new errors.InvalidTarget(`unknown resource ${resourceIndicator}`);
        }
        return {
          scope: SCOPES,
          audience: resourceIndicator,
          accessTokenTTL: 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg } },
        };
      },
    },
  },
  ttl: {
    ClientCredentials: 300,
  },
});

provider.use(async (ctx, next) => {
  try {
    await next();
  } finally {
    log(`${ctx.method} ${ctx.path} ${ctx.status}`);
  }
});
provider.on('server_error', (ctx, err) => log(`server_error: ${err.stack || err}`));
provider.on('grant.error', (ctx, err) => log(`grant.error: ${err.message} ${err.error_description || ''}`));

const server = provider.listen(Number(args.port), args.host, () => {
  log(`listening on ${issuer} (pid ${process.pid}), keys ${jwks.keys.map((k) => k.kid).join(' ')}`);
});
server.on('error', (err) => {
  log(`cannot listen on ${args.host}:${args.port}: ${err.message}`);
  process.exit(1);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    log(`${signal}: stopping`);
    server.close(() => process.exit(0));
    server.closeAllConnections?.();
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
