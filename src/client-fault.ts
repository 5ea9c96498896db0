/**
 * Faults of the client, as opposed to the upstream's: a body that stalled, grew past the limit
 * or was abandoned half-way. The body readers mark them on the request; the upstream transport
 * asks here before it blames the upstream, so one client can never trip a breaker, eject a
 * target or skew an upstream's error metrics for everyone else.
 */
import type { IncomingMessage } from 'node:http';
import { ClientClosedRequest, PayloadTooLarge, RequestTimeout, isGatewayError, type GatewayError } from './errors.js';

const faults = new WeakMap<IncomingMessage, GatewayError>();

const CLIENT_CODES = new Set([ClientClosedRequest.code, RequestTimeout.code, PayloadTooLarge.code]);

/** Records why the client's body failed (the first reason wins). */
export function markClientFault(req: IncomingMessage, err: GatewayError): void {
  if (!faults.has(req)) faults.set(req, err);
}

/**
 * The client's fault behind a failed upstream call, if any: a marked one, or a request whose
 * body never completed because the client went away.
 */
export function clientFault(req: IncomingMessage): GatewayError | undefined {
  const marked = faults.get(req);
  if (marked) return marked;
  if (!req.complete && (req.destroyed || req.readableAborted)) {
    const err = ClientClosedRequest();
    faults.set(req, err);
    return err;
  }
  return undefined;
}

/** True for an error that says the client, not the upstream, ended the call. */
export function isClientFault(err: unknown): boolean {
  return isGatewayError(err) && CLIENT_CODES.has(err.code);
}

const neutral = new WeakSet<object>();

/**
 * Marks an error that says nothing about the upstream's health either way, such as a call that
 * timed out in the gateway's own pool queue (the calls ahead of it are the ones that count).
 */
export function markNeutral<E extends object>(err: E): E {
  neutral.add(err);
  return err;
}

/** True when an error must neither count as an upstream failure nor reset a failure count. */
export function isNeutral(err: unknown): boolean {
  return isClientFault(err) || (typeof err === 'object' && err !== null && neutral.has(err));
}
