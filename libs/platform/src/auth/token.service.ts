/**
 * Verifies bearer JWTs and turns them into a Principal. HS256 with a shared secret serves
 * development; RS256 serves production, with a configured public key or with keys from the
 * identity provider's JWKS endpoint picked by the token's `kid` (see jwks-key-source.ts).
 * Tokens must name issuer and audience and carry an expiry.
 *
 * authenticate() is what the guard calls: synchronous whenever the key is at hand (always for
 * HS256 and a configured public key; for JWKS when the kid is cached), a promise only when the
 * JWKS must be fetched first. verify() never waits: with JWKS it knows only cached keys.
 */
import { createPublicKey, createSecretKey, KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { AppConfig } from '../config/config';
import { JwksKeySource, JwksStatus } from './jwks-key-source';
import { AGB_ROLES, isRole, Principal, Role, UZOVI_ROLES } from './roles';

export class TokenError extends Error {}

export interface DevTokenRequest {
  role: Role;
  uzovi?: string[];
  agb?: string;
  subject?: string;
  ttlSeconds?: number;
}

export class TokenService {
  /**
   * Built once: given a string, jsonwebtoken tries to parse it as a public key on every call,
   * which cost ~340 µs per request here (bench/intake); a KeyObject costs ~7 µs.
   */
  private readonly key: KeyObject | undefined;
  /** RS256 keys from JWT_JWKS_URL; fetched lazily, on the first token that needs them. */
  private readonly jwks: JwksKeySource | undefined;

  constructor(
    private readonly config: AppConfig['jwt'],
    deps: { jwks?: JwksKeySource } = {},
  ) {
    if (config.algorithm === 'HS256' && config.secret) this.key = createSecretKey(Buffer.from(config.secret, 'utf8'));
    if (config.algorithm === 'RS256' && config.jwks) this.jwks = deps.jwks ?? new JwksKeySource(config.jwks);
    else if (config.algorithm === 'RS256' && config.publicKey) this.key = createPublicKey(config.publicKey);
  }

  /** The guard's entry: a Principal, or a promise of one when the JWKS must be fetched first. Errors are TokenErrors. */
  authenticate(token: string): Principal | Promise<Principal> {
    if (!this.jwks) return this.verify(token);
    const kid = this.kidOf(token);
    const key = this.jwks.peek(kid);
    if (key) return this.verifyWith(token, key);
    return this.jwks.resolve(kid).then((k) => this.verifyWith(token, k));
  }

  /** Synchronous verification; with JWKS only against keys already cached. */
  verify(token: string): Principal {
    return this.verifyWith(token, this.jwks ? this.jwks.peek(this.kidOf(token)) : this.key);
  }

  /** The state of the JWKS cache (for a readiness check), or undefined when keys are not from a JWKS. */
  jwksStatus(): JwksStatus | undefined {
    return this.jwks?.status();
  }

  /** For a readiness check: fetches the JWKS while the cache is cold (within the refresh limit), then reports its state. */
  async warmJwks(): Promise<JwksStatus | undefined> {
    if (this.jwks && this.jwks.status().keys === 0) await this.jwks.refresh();
    return this.jwks?.status();
  }

  /**
   * The kid of an RS256 token, read before any key is looked up, so that tokens which cannot
   * pass (another algorithm, alg none, no kid) never cause a JWKS fetch.
   */
  private kidOf(token: string): string {
    let header: jwt.JwtHeader | undefined;
    try {
      header = jwt.decode(token, { complete: true })?.header;
    } catch {
      header = undefined;
    }
    if (!header || header.alg !== 'RS256') throw new TokenError('token is not valid');
    if (typeof header.kid !== 'string' || header.kid === '' || header.kid.length > 256) throw new TokenError('token names no signing key (kid)');
    return header.kid;
  }

  private verifyWith(token: string, key: KeyObject | undefined): Principal {
    let payload: jwt.JwtPayload;
    try {
      if (!key) throw new TokenError(this.jwks ? 'token is signed with an unknown key' : 'token verification is not configured');
      const decoded = jwt.verify(token, key, {
        algorithms: [this.config.algorithm],
        issuer: this.config.issuer,
        audience: this.config.audience,
      });
      if (typeof decoded === 'string') throw new TokenError('token payload must be a JSON object');
      payload = decoded;
    } catch (e) {
      if (e instanceof TokenError) throw e;
      const name = (e as Error).name;
      throw new TokenError(name === 'TokenExpiredError' ? 'token has expired' : 'token is not valid');
    }
    if (typeof payload.exp !== 'number') throw new TokenError('token has no expiry (exp)');
    if (typeof payload.sub !== 'string' || payload.sub === '') throw new TokenError('token has no subject (sub)');
    if (!isRole(payload.role)) throw new TokenError('token has no known role');
    const role = payload.role;
    const uzovis = ([] as unknown[]).concat(payload.uzovi ?? []).filter((u): u is string => typeof u === 'string' && /^\d{4}$/.test(u));
    if (UZOVI_ROLES.includes(role) && uzovis.length === 0) throw new TokenError(`a ${role} token must carry a uzovi claim`);
    const agb = typeof payload.agb === 'string' && /^\d{8}$/.test(payload.agb) ? payload.agb : undefined;
    if (AGB_ROLES.includes(role) && !agb) throw new TokenError(`a ${role} token must carry an agb claim`);
    return { subject: payload.sub, role, uzovis, agb };
  }

  /** Mints an HS256 development token. Refused when the service is configured for RS256. */
  mint(req: DevTokenRequest): string {
    if (this.config.algorithm !== 'HS256' || !this.config.secret) throw new TokenError('development tokens need JWT_ALGORITHM=HS256');
    const claims: Record<string, unknown> = { role: req.role };
    if (req.uzovi?.length) claims.uzovi = req.uzovi.length === 1 ? req.uzovi[0] : req.uzovi;
    if (req.agb) claims.agb = req.agb;
    return jwt.sign(claims, this.key!, {
      algorithm: 'HS256',
      subject: req.subject ?? `dev-${req.role}`,
      issuer: this.config.issuer,
      audience: this.config.audience,
      expiresIn: req.ttlSeconds ?? 8 * 3600,
    });
  }
}
