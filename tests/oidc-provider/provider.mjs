// The identity provider the test suite signs in through: panva's oidc-provider, an OpenID
// Certified implementation, with its development sign-in pages (any username, any password:
// the username becomes the subject). Configured like a regional provider: authorisation code
// with PKCE (S256) only, a confidential client, and the claims Percorsi matches accounts on.
//
//   PORT=… REDIRECT_URI=… CLIENT_SECRET=… node provider.mjs
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'percorsi',
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: [process.env.REDIRECT_URI],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  pkce: { methods: ['S256'], required: () => true },
  features: { devInteractions: { enabled: true } },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'fiscal_number'],
  },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: `${id}@regione.example`,
          email_verified: true,
          name: id,
          // SPID/CIE providers give the fiscal number with the country prefix.
          fiscal_number: `TINIT-${id.toUpperCase()}`,
        };
      },
    };
  },
  cookies: { keys: ['percorsi-test-provider'] },
  ttl: { Session: 600, Grant: 600 },
});
// Plain HTTP on loopback is a test set-up: let the provider answer without TLS.
provider.proxy = true;
provider.listen(port, '127.0.0.1', () => console.log(`oidc provider ready at ${issuer}`));
