import type { SecurityRisk } from '../event/event-schemas';
import type { ConfirmationPolicy } from './confirmation-policy';

const RISK_ORDER: Record<SecurityRisk, number> = { UNKNOWN: -1, LOW: 0, MEDIUM: 1, HIGH: 2 };

/** Tools whose lone call is never held for confirmation: they change nothing. */
export const NEVER_HELD_TOOLS: ReadonlySet<string> = new Set(['finish', 'think']);

/** An action waiting for a confirmation decision. */
export interface ActionToConfirm {
  tool_name: string;
  security_risk: SecurityRisk;
}

/** Options of {@link needsConfirmation}. */
export interface ConfirmationCheck {
  policy: ConfirmationPolicy;
  /**
   * The security analyzer, if any. Only an analyzer makes the LLM's own `security_risk`
   * annotation count; without one every risk is `UNKNOWN`.
   */
  securityAnalyzer?: { kind: string } | null | undefined;
}

/** The risk Ferry uses for an action: the LLM's annotation only when an analyzer trusts it. */
export function effectiveRisk(action: ActionToConfirm, check: ConfirmationCheck): SecurityRisk {
  return check.securityAnalyzer ? action.security_risk : 'UNKNOWN';
}

/**
 * Whether a step's actions must wait for the user. A step whose actions are only `finish` or
 * `think` is never held.
 */
export function needsConfirmation(
  actions: readonly ActionToConfirm[],
  check: ConfirmationCheck,
): boolean {
  if (actions.length === 0 || actions.every((action) => NEVER_HELD_TOOLS.has(action.tool_name)))
    return false;
  const { policy } = check;
  switch (policy.kind) {
    case 'NeverConfirm':
      return false;
    case 'AlwaysConfirm':
      return true;
    case 'ConfirmRisky':
      return actions.some((action) => {
        const risk = effectiveRisk(action, check);
        if (risk === 'UNKNOWN') return policy.confirm_unknown;
        return RISK_ORDER[risk] >= RISK_ORDER[policy.threshold];
      });
  }
}
