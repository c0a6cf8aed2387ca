// A local OpenID Provider configured like ProConnect, on 127.0.0.1: the npm package
// oidc-provider (OpenID-certified), its claims (given_name, usual_name, email, uid, siret,
// idp_id), userinfo signed (application/jwt), PKCE required, RP-initiated logout.
//
//   PORT=9000 CLIENT_ID=… CLIENT_SECRET=… REDIRECT_URIS=http://127.0.0.1:5000/proconnect/retour \
//   POST_LOGOUT_REDIRECT_URIS=http://127.0.0.1:5000/ node tests/peers/proconnect.mjs
//
// Started by the tests (tests/proconnect/conftest.py) and by `make run` (demo identities
// below). With TEST_MODE=1 it also answers POST /_test/misbehave?id_token=…&userinfo=…:
// the next tokens it issues are spoiled on purpose (expired, another audience, another
// nonce, signed by another key, alg none, HS256 keyed with the public key), so the tests
// prove the service refuses them.
import { createServer } from "node:http";
import Provider from "oidc-provider";
import * as jose from "jose";

const port = Number(process.env.PORT || 9000);
const issuer = `http://127.0.0.1:${port}`;
const testMode = process.env.TEST_MODE === "1";
const list = (name, fallback) => (process.env[name] || fallback).split(",").filter(Boolean);

// The people one can sign in as (ProConnect's claims; the e-mails of app/demo.py).
const IDENTITIES = {
  "alain.rectorat": { email: "academy@demo.test", given_name: "Alain", usual_name: "Rectorat", siret: "13002526500013" },
  "rachida.commission": { email: "reviewer@demo.test", given_name: "Rachida", usual_name: "Commission", siret: "11004601800013" },
  "nadia.operatrice": { email: "admin@demo.test", given_name: "Nadia", usual_name: "Opératrice", siret: "11004601800013" },
  "camille.enseignante": { email: "camille.enseignante@ac-paris.fr", given_name: "Camille", usual_name: "Enseignante", siret: "19750654700013" },
  "paul.inconnu": { email: "paul.inconnu@education.gouv.fr", given_name: "Paul", usual_name: "Inconnu", siret: "11004601800013" },
  "non.verifie": { email: "academy@demo.test", email_verified: false, given_name: "Adresse", usual_name: "Non vérifiée", siret: "11004601800013" },
};

const { privateKey, publicKey } = await jose.generateKeyPair("RS256", { extractable: true });
const signingKey = { ...(await jose.exportJWK(privateKey)), kid: "proconnect-1", alg: "RS256", use: "sig" };
const other = await jose.generateKeyPair("RS256", { extractable: true });

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.CLIENT_ID || "compte-ressources",
      client_secret: process.env.CLIENT_SECRET || "secret-de-demonstration",
      redirect_uris: list("REDIRECT_URIS", "http://127.0.0.1:5000/proconnect/retour"),
      post_logout_redirect_uris: list("POST_LOGOUT_REDIRECT_URIS", "http://127.0.0.1:5000/"),
      token_endpoint_auth_method: "client_secret_post",
      id_token_signed_response_alg: "RS256",
      userinfo_signed_response_alg: "RS256",
    },
  ],
  jwks: { keys: [signingKey] },
  pkce: { required: () => true },
  scopes: ["openid", "given_name", "usual_name", "email", "uid", "siret", "idp_id"],
  claims: {
    openid: ["sub"],
    given_name: ["given_name"],
    usual_name: ["usual_name"],
    email: ["email", "email_verified"],
    uid: ["uid"],
    siret: ["siret"],
    idp_id: ["idp_id"],
  },
  features: {
    devInteractions: { enabled: false },
    jwtUserinfo: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  async findAccount(ctx, id) {
    const person = IDENTITIES[id];
    if (!person) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, uid: id, idp_id: "fia1v2", email_verified: true, ...person };
      },
    };
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ["cle-des-cookies-de-demonstration"] },
});
provider.proxy = false;

if (testMode) {
  // The tests' app may run on any local port: any http://127.0.0.1 or .test return address.
  const allowed = (uri) => /^http:\/\/(127\.0\.0\.1(:\d+)?|[a-z.-]+\.test)\//.test(uri);
  provider.Client.prototype.redirectUriAllowed = allowed;
  provider.Client.prototype.postLogoutRedirectUriAllowed = allowed;
}

// --- misbehaviour, for the tests' negative cases ------------------------------------------

let misbehave = { id_token: "", userinfo: "" };
const b64 = (object) => Buffer.from(JSON.stringify(object)).toString("base64url");

async function spoilIdToken(token, how) {
  const claims = jose.decodeJwt(token);
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: "RS256", kid: signingKey.kid, typ: "JWT" };
  if (how === "expired") Object.assign(claims, { iat: now - 7200, exp: now - 3600 });
  if (how === "wrong_audience") claims.aud = "un-autre-service";
  if (how === "wrong_nonce") claims.nonce = "un-autre-nonce-que-celui-demande-par-le-service";
  if (how === "alg_none") return `${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.`;
  if (how === "hs256") {
    const pem = new TextEncoder().encode(await jose.exportSPKI(publicKey));
    return new jose.SignJWT(claims).setProtectedHeader({ alg: "HS256", kid: signingKey.kid }).sign(pem);
  }
  const key = how === "other_key" ? other.privateKey : privateKey;
  return new jose.SignJWT(claims).setProtectedHeader(header).sign(key);
}

provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === "/token" && ctx.body && ctx.body.id_token && misbehave.id_token) {
    ctx.body = { ...ctx.body, id_token: await spoilIdToken(ctx.body.id_token, misbehave.id_token) };
  }
  if (ctx.path === "/me" && typeof ctx.body === "string" && misbehave.userinfo === "other_key") {
    const claims = jose.decodeJwt(ctx.body);
    ctx.body = await new jose.SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", kid: signingKey.kid })
      .sign(other.privateKey);
  }
});

// --- the sign-in page (one step: choose who you are) ---------------------------------------

const page = (body) => `<!doctype html><html lang="fr"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>ProConnect (local)</title>
<style>body{font-family:Arial,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#161616}
h1{font-size:1.5rem;color:#000091}label{display:block;margin:.5rem 0}button{background:#000091;color:#fff;
border:0;padding:.75rem 1.5rem;font-size:1rem;cursor:pointer}</style></head><body>${body}</body></html>`;

async function readForm(req) {
  let raw = "";
  for await (const chunk of req) raw += chunk;
  return new URLSearchParams(raw);
}

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([\w-]+)$/);
  if (testMode && ctx.path === "/_test/misbehave" && ctx.method === "POST") {
    misbehave = { id_token: ctx.query.id_token || "", userinfo: ctx.query.userinfo || "" };
    ctx.body = misbehave;
    return;
  }
  if (!match) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (ctx.method === "GET") {
    const choices = Object.entries(IDENTITIES)
      .map(([id, p], i) => `<label><input type="radio" name="login" value="${id}"${i ? "" : " checked"}> ${p.given_name} ${p.usual_name} — ${p.email}</label>`)
      .join("");
    ctx.type = "html";
    ctx.body = page(`<h1>ProConnect — fournisseur d'identité local</h1>
      <p>Environnement de démonstration : choisissez l'agent sous l'identité duquel vous connecter.</p>
      <form method="post">${choices}<p><button type="submit">Se connecter</button></p></form>`);
    return;
  }
  const login = (await readForm(ctx.req)).get("login");
  if (!IDENTITIES[login]) {
    ctx.status = 400;
    ctx.body = "identité inconnue";
    return;
  }
  const grant = new provider.Grant({ accountId: login, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: login }, consent: { grantId } }, { mergeWithLastSubmission: false });
});

createServer(provider.callback()).listen(port, "127.0.0.1", () => {
  console.log(`ProConnect (local) ready at ${issuer}`);
});
