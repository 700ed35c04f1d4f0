// The demo relying party of the README: a service outside the platform that signs people in through it.
//
//   npm ci --prefix tests/node && node tests/node/demo-rp.mjs     (with `ventanilla demo` run once)
//
// Open http://127.0.0.1:9000, choose a level, sign in as a demo person, consent, and see what the service
// receives: the validated ID token's claims and userinfo. Built with panva's openid-client, not the provider's
// library. Settings from the environment: ISSUER (http://127.0.0.1:8000), CLIENT_ID (demo-rp), CLIENT_SECRET.
import { createServer } from 'node:http';
import * as client from 'openid-client';

const issuer = process.env.ISSUER ?? 'http://127.0.0.1:8000';
const clientId = process.env.CLIENT_ID ?? 'demo-rp';
const clientSecret = process.env.CLIENT_SECRET ?? 'demo-rp-secret-for-local-tries-only';
const port = Number(process.env.PORT ?? 9000);
const redirectUri = `http://127.0.0.1:${port}/callback`;
const levels = ['low', 'substantial', 'high'];
const pending = new Map(); // state → {verifier, nonce}: one demo process, so memory is enough

const config = await client.discovery(new URL(issuer), clientId, {}, client.ClientSecretBasic(clientSecret), {
  execute: [client.allowInsecureRequests], // the local platform listens on plain http
});

const escape = (text) =>
  String(text).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const page = (body) =>
  `<!doctype html><html lang="en"><meta charset="utf-8"><title>Demo service</title>` +
  `<body style="font-family:sans-serif;max-width:40rem;margin:2rem auto">${body}</body></html>`;

async function signIn(level, response) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  pending.set(state, { verifier, nonce });
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid profile email document',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    acr_values: `urn:ventanilla:loa:${level}`,
  });
  response.writeHead(302, { Location: url.href }).end();
}

async function callback(url, response) {
  const started = pending.get(url.searchParams.get('state'));
  if (!started) return response.writeHead(400).end(page('<p>Unknown or used state. <a href="/">Start again</a></p>'));
  pending.delete(url.searchParams.get('state'));
  try {
    const tokens = await client.authorizationCodeGrant(config, url, {
      pkceCodeVerifier: started.verifier,
      expectedState: url.searchParams.get('state'),
      expectedNonce: started.nonce,
    });
    const claims = tokens.claims();
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    response.end(
      page(
        `<h1>Signed in at ${escape(claims.acr)}</h1><h2>ID token</h2><pre>${escape(JSON.stringify(claims, null, 2))}</pre>` +
          `<h2>Userinfo</h2><pre>${escape(JSON.stringify(userinfo, null, 2))}</pre><p><a href="/">Again</a></p>`,
      ),
    );
  } catch (error) {
    response.writeHead(400).end(page(`<h1>Refused</h1><pre>${escape(error.error ?? '')} ${escape(error.message)}</pre><p><a href="/">Again</a></p>`));
  }
}

createServer(async (request, response) => {
  const url = new URL(request.url, `http://127.0.0.1:${port}`);
  response.setHeader('Content-Type', 'text/html; charset=utf-8');
  if (url.pathname === '/callback') return callback(url, response);
  if (url.pathname === '/sign-in' && levels.includes(url.searchParams.get('level'))) {
    return signIn(url.searchParams.get('level'), response);
  }
  const links = levels.map((level) => `<li><a href="/sign-in?level=${level}">Sign in at level ${level}</a></li>`);
  response.end(page(`<h1>Demo service</h1><p>Signs in through ${escape(issuer)}.</p><ul>${links.join('')}</ul>`));
}).listen(port, '127.0.0.1', () => console.log(`Demo relying party on http://127.0.0.1:${port}`));
