/**
 * Verifies bearer JWTs and turns them into a Principal. HS256 with a shared secret serves
 * development; RS256 with a public key serves production (a JWKS source can implement the same
 * `keyFor` seam). Tokens must name issuer and audience and carry an expiry.
 */
import { createPublicKey, createSecretKey, KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { AppConfig } from '../config/config';
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

  constructor(private readonly config: AppConfig['jwt']) {
    if (config.algorithm === 'HS256' && config.secret) this.key = createSecretKey(Buffer.from(config.secret, 'utf8'));
    if (config.algorithm === 'RS256' && config.publicKey) this.key = createPublicKey(config.publicKey);
  }

  verify(token: string): Principal {
    let payload: jwt.JwtPayload;
    try {
      if (!this.key) throw new TokenError('token verification is not configured');
      const decoded = jwt.verify(token, this.key, {
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
