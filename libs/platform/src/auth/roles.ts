/** Who may call the service. One role per token; the tenant claim says for whom. */
export const ROLES = ['referral-service', 'mediator', 'mediation-lead', 'provider', 'ttp-operator', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Roles acting for an insurer carry a `uzovi` claim; providers carry an `agb` claim. */
export const UZOVI_ROLES: readonly Role[] = ['referral-service', 'mediator', 'mediation-lead', 'auditor'];
export const AGB_ROLES: readonly Role[] = ['provider'];

/** Insurer staff roles that may read their own tenant's referrals. */
export const INSURER_STAFF: readonly Role[] = ['mediator', 'mediation-lead'];

export function isRole(v: unknown): v is Role {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}

/** The authenticated caller, as the rest of the code sees it. */
export interface Principal {
  subject: string;
  role: Role;
  /** Insurers this caller acts for (empty for roles without a UZOVI tenant). */
  uzovis: string[];
  /** Provider this caller acts for, if a provider. */
  agb?: string;
}
