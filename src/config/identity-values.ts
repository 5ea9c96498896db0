/**
 * Identity values travel upstream as header values (X-User-Id, X-User-Roles, X-Client-Id) and
 * gRPC metadata, so each must arrive exactly as the gateway judged it.
 *
 * Roles are joined by `,` in one X-User-Roles, so a role must read the same after that join:
 * 1–128 visible ASCII characters and no `,`. A role outside that shape (`admin,user` as one
 * array entry, spaces, control or non-ASCII characters) is refused where the identity is made:
 * it is not granted, so no route, field or upstream ever sees it.
 *
 * A subject (JWT `sub`, API-key owner) is one header value: 1–256 characters of printable
 * ASCII without leading or trailing spaces. Anything else would be trimmed, re-encoded or refused
 * by the HTTP client on the way (two subjects reading as one upstream), so a token carrying it is
 * refused (401). Configured roles and owners outside these shapes are config errors.
 */
const ROLE = /^[\x21-\x2b\x2d-\x7e]{1,128}$/;
const SUBJECT = /^[\x21-\x7e](?:[\x20-\x7e]{0,254}[\x21-\x7e])?$/;

/** True for a role that can be forwarded unambiguously in a comma-separated list. */
export function isForwardableRole(role: string): boolean {
  return ROLE.test(role);
}

/** True for a subject / owner that a header value carries verbatim. */
export function isForwardableSubject(subject: string): boolean {
  return SUBJECT.test(subject);
}
