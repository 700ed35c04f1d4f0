// A relying party built with a different OpenID Connect library than the provider's: panva's openid-client.
// The Python tests drive it one step at a time: a JSON request on standard input, a JSON answer on standard
// output ({"error": {...}} when the library refuses or the provider answers with an error).
//
//   keys    → {private_jwk, public_jwk}: the RP's own signing key for private_key_jwt
//   start   → {url, code_verifier, state, nonce}: discovery, then an authorization URL with PKCE S256
//   finish  → {id_token, id_token_claims, access_token, refresh_token, scope, userinfo}: the code exchanged
//             (private_key_jwt or client_secret_basic), the ID token validated, userinfo fetched
//   refresh → {access_token, refresh_token, scope}
//   userinfo → {userinfo}
import * as client from 'openid-client';
import { exportJWK, generateKeyPair, importJWK } from 'jose';

async function readInput() {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return JSON.parse(text);
}

async function configuration(input) {
  let auth;
  if (input.client_secret) {
    auth = client.ClientSecretBasic(input.client_secret);
  } else if (input.private_jwk) {
    const key = await importJWK(input.private_jwk, 'RS256');
    auth = client.PrivateKeyJwt({ key, kid: input.private_jwk.kid });
  } else {
    auth = client.None();
  }
  return client.discovery(new URL(input.issuer), input.client_id, {}, auth, {
    execute: [client.allowInsecureRequests], // the tests' server listens on plain http on 127.0.0.1
  });
}

const steps = {
  async keys() {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    const kid = `rp-${Date.now()}`;
    return {
      private_jwk: { ...(await exportJWK(privateKey)), kid, alg: 'RS256' },
      public_jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
    };
  },

  async start(input) {
    const config = await configuration(input);
    const code_verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const parameters = {
      redirect_uri: input.redirect_uri,
      scope: input.scope ?? 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(code_verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...(input.parameters ?? {}),
    };
    const url = client.buildAuthorizationUrl(config, parameters);
    return { url: url.href, code_verifier, state, nonce };
  },

  async finish(input) {
    const config = await configuration(input);
    const tokens = await client.authorizationCodeGrant(config, new URL(input.callback_url), {
      pkceCodeVerifier: input.code_verifier,
      expectedState: input.state,
      expectedNonce: input.nonce,
      ...(input.max_age !== undefined ? { maxAge: input.max_age } : {}),
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    return {
      id_token: tokens.id_token,
      id_token_claims: claims,
      access_token: tokens.access_token,
      refresh_token: tokens.refresh_token ?? null,
      scope: tokens.scope ?? null,
      userinfo,
    };
  },

  async refresh(input) {
    const config = await configuration(input);
    const tokens = await client.refreshTokenGrant(config, input.refresh_token);
    return { access_token: tokens.access_token, refresh_token: tokens.refresh_token ?? null, scope: tokens.scope };
  },

  async userinfo(input) {
    const config = await configuration(input);
    return { userinfo: await client.fetchUserInfo(config, input.access_token, input.sub) };
  },
};

const [step] = process.argv.slice(2);
try {
  const result = await steps[step](await readInput());
  process.stdout.write(JSON.stringify(result));
} catch (error) {
  process.stdout.write(
    JSON.stringify({
      error: {
        name: error.name,
        message: error.message,
        code: error.code ?? null,
        error: error.error ?? null,
        error_description: error.error_description ?? null,
        status: error.status ?? null,
      },
    }),
  );
}
