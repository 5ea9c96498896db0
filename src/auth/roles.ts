/**
 * Roles travel upstream joined by `,` in one X-User-Roles header (and gRPC metadata entry), so
 * a role must read the same after that join: 1–128 visible ASCII characters and no `,`.
 * A role outside that shape (`admin,user` as one array entry, spaces, control or non-ASCII
 * characters) is refused where the identity is made: it is not granted, so no route, field or
 * upstream ever sees it. Configured roles (API keys) with that shape are config errors.
 */
const ROLE = /^[\x21-\x2b\x2d-\x7e]{1,128}$/;

/** True for a role that can be forwarded unambiguously in a comma-separated list. */
export function isForwardableRole(role: string): boolean {
  return ROLE.test(role);
}
