/**
 * The payment gateway port. Every call carries an idempotency key: the same key
 * never moves money twice, and a charge whose outcome was lost (a timeout) is
 * found again by looking its key up.
 */
export interface ChargeRequest {
  key: string;
  token: string;
  amount: number;
  currency: string;
}

export type GatewayOutcome =
  | { status: 'approved'; reference: string }
  | { status: 'declined'; code: string; hard: boolean; reference: string }
  /** The call failed in transit: the charge may or may not have happened. */
  | { status: 'unknown' };

export interface RefundRequest {
  key: string;
  chargeReference: string;
  amount: number;
  currency: string;
}

export interface PaymentGateway {
  /** Charges in a batch, one outcome per request in the same order. */
  charge(requests: ChargeRequest[]): Promise<GatewayOutcome[]>;
  /** What happened to earlier calls with these keys; `null` where the gateway never saw the key. */
  lookup(keys: string[]): Promise<(GatewayOutcome | null)[]>;
  refund(request: RefundRequest): Promise<GatewayOutcome>;
  /** Whether the gateway accepts this token at all; bad tokens are refused at input, before anything is written. */
  knowsToken(token: string): boolean;
}

/** The gateway gave no answer for an operation whose intent is recorded: retry later; nothing was lost or done twice. */
export class GatewayUnavailable extends Error {
  override name = 'GatewayUnavailable';
}
