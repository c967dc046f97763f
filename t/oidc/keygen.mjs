// Signing key sets for provider.mjs: a JWKS with private parts holding one RS256 (RSA 2048),
// one ES256 (P-256) and one EdDSA (Ed25519) key, each with a new kid "<LABEL>-<alg>-<random>",
// so two key sets never share a kid.
//
//   node t/oidc/keygen.mjs OUT.json [LABEL]     writes OUT.json (mode 0600), prints the kids
//
// test.mjs imports writeKeySet() instead.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const SPECS = [
  ['RS256', 'rsa', { modulusLength: 2048 }],
  ['ES256', 'ec', { namedCurve: 'P-256' }],
  ['EdDSA', 'ed25519', {}],
];

// A new key set: { keys: [private JWK with kid, alg, use] } in the order RS256, ES256, EdDSA.
export function generateKeySet(label = 'k') {
  const keys = SPECS.map(([alg, type, options]) => {
    const { privateKey } = generateKeyPairSync(type, options);
    const kid = `${label}-${alg.toLowerCase()}-${randomBytes(6).toString('hex')}`;
    return { ...privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
  });
  return { keys };
}

export function writeKeySet(path, label) {
  const set = generateKeySet(label);
  writeFileSync(path, `${JSON.stringify(set, null, 2)}\n`, { mode: 0o600 });
  return set;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [out, label] = process.argv.slice(2);
  if (!out) {
    console.error('usage: node keygen.mjs OUT.json [LABEL]');
    process.exit(2);
  }
  console.log(writeKeySet(out, label).keys.map((k) => k.kid).join(' '));
}
