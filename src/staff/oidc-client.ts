import type { Configuration } from 'openid-client';
import type { Config } from '../config';

type OidcSettings = NonNullable<Config['staff']['oidc']>;
type OpenIdClient = typeof import('openid-client');

/**
 * openid-client 6 is an ES module and this service is CommonJS. tsc (module node20) leaves a dynamic
 * import() as it is, and Node loads an ES module that way on every version we support (require() of
 * one needs Node 20.19 or later), under tsx and from the compiled dist/ alike.
 */
let library: Promise<OpenIdClient> | null = null;
const openIdClient = (): Promise<OpenIdClient> => (library ??= import('openid-client'));

/** What the browser keeps between the redirect to the provider and its return (the state cookie). */
export interface PendingSignIn {
  state: string;
  nonce: string;
  verifier: string;
}

/** The claims of a verified sign-in: the ID token's, with the userinfo endpoint's for what the token left out. */
export type SignedInClaims = Record<string, unknown> & { sub: string };

/**
 * The service as an OpenID Connect relying party of the courts' identity provider: the
 * authorization code flow with PKCE (S256), state and nonce; the client authenticates with its
 * secret (client_secret_basic). The provider's metadata is discovered on first use, not at
 * start-up (the service starts while the provider is down), and again after a failure.
 */
export class OidcRelyingParty {
  private discovered: Promise<Configuration> | null = null;

  constructor(private readonly settings: OidcSettings, private readonly redirectUri: string) {}

  get label(): string {
    return this.settings.label;
  }

  get loginClaim(): string {
    return this.settings.loginClaim;
  }

  /** The provider's authorization URL for a new sign-in, and what the state cookie must keep. */
  async start(): Promise<{ url: string; pending: PendingSignIn }> {
    const oidc = await openIdClient();
    const config = await this.configuration();
    const pending = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier: oidc.randomPKCECodeVerifier() };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri,
      scope: 'openid profile',
      response_type: 'code',
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(pending.verifier),
      code_challenge_method: 'S256',
    });
    return { url: url.href, pending };
  }

  /**
   * The provider's answer at our callback (its full URL): the code exchanged with the PKCE verifier,
   * the state and the ID token's signature, issuer, audience, expiry and nonce checked by
   * openid-client. Throws on any mismatch or error answer.
   */
  async finish(callbackUrl: URL, pending: PendingSignIn): Promise<SignedInClaims> {
    const oidc = await openIdClient();
    const config = await this.configuration();
    const tokens = await oidc.authorizationCodeGrant(
      config,
      callbackUrl,
      { pkceCodeVerifier: pending.verifier, expectedState: pending.state, expectedNonce: pending.nonce, idTokenExpected: true },
      { redirect_uri: this.redirectUri },
    );
    const claims = tokens.claims();
    if (!claims) throw new Error('the provider returned no ID token');
    if (claims[this.settings.loginClaim] !== undefined) return claims as SignedInClaims;
    // Providers that follow the core spec's default put profile claims in userinfo, not the ID token.
    const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    return { ...info, ...claims } as SignedInClaims;
  }

  private configuration(): Promise<Configuration> {
    this.discovered ??= this.discover().catch((e: unknown) => {
      this.discovered = null;
      throw e;
    });
    return this.discovered;
  }

  private async discover(): Promise<Configuration> {
    const oidc = await openIdClient();
    const issuer = new URL(this.settings.issuer);
    // Plain http only outside production (the configuration refuses it there): a local provider.
    const execute = issuer.protocol === 'http:' ? [oidc.allowInsecureRequests] : [];
    return oidc.discovery(issuer, this.settings.clientId, undefined, oidc.ClientSecretBasic(this.settings.clientSecret), { execute, timeout: 10 });
  }
}
