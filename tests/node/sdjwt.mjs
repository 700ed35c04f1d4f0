// A verifier built with a different SD-JWT library than the platform's: the OpenWallet Foundation's TypeScript
// @sd-jwt/sd-jwt-vc. It fetches the issuer's keys from its published metadata and the status list from the URI
// the credential names, both over HTTP. JSON in on standard input, JSON out:
//
//   {credential, disclose: ["claim", ...]} → {claims, presentation, presented_claims}
//        or {error} when the library refuses the credential (bad signature, revoked, expired).
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { ES256, digest, generateSalt } from '@sd-jwt/crypto-nodejs';

async function readInput() {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return JSON.parse(text);
}

function decodePart(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString());
}

async function issuerKeys(credential) {
  const [header, payload] = credential.split('~')[0].split('.').slice(0, 2).map(decodePart);
  const iss = new URL(payload.iss);
  const metadata = await (await fetch(`${iss.origin}/.well-known/jwt-vc-issuer${iss.pathname}`)).json();
  if (metadata.issuer !== payload.iss) throw new Error('issuer metadata names another issuer');
  return { header, keys: metadata.jwks.keys };
}

async function verifierFor(keys) {
  // Tries the key named by the JWT's kid: the credential and the status list may carry different kids.
  return async (data, signature) => {
    const [header] = data.split('.').slice(0, 1).map(decodePart);
    const jwk = keys.find((key) => key.kid === header.kid);
    if (!jwk) return false;
    return (await ES256.getVerifier(jwk))(data, signature);
  };
}

const input = await readInput();
try {
  const { keys } = await issuerKeys(input.credential);
  const sdjwt = new SDJwtVcInstance({
    hasher: digest,
    saltGenerator: generateSalt,
    verifier: await verifierFor(keys),
  });
  const full = await sdjwt.verify(input.credential);
  const frame = Object.fromEntries((input.disclose || []).map((name) => [name, true]));
  const presentation = await sdjwt.present(input.credential, frame);
  const presented = await sdjwt.verify(presentation);
  process.stdout.write(JSON.stringify({
    claims: full.payload,
    header: full.header,
    presentation,
    presented_claims: presented.payload,
  }));
} catch (error) {
  process.stdout.write(JSON.stringify({ error: String(error && error.message || error) }));
}
