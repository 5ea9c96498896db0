/**
 * Per-field rate limits: `rateLimit.fields` in the config (`Type.field: {points, durationSec}`)
 * and the `@rateLimit(points:, durationSec:)` schema directive (config wins when both name a
 * field). Every resolution of a limited field, aliases included, takes one point from the
 * caller's window for that field; over it, that field alone resolves to a RATE_LIMITED error
 * and the rest of the operation still returns its data.
 *
 * Only the limited fields get a wrapped resolver, built once when the schema is set, never
 * per request.
 */
import { defaultFieldResolver, isObjectType, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { MapperKind, mapSchema } from '@graphql-tools/utils';
import type { RateWindow } from '../config/schema.js';
import { ConfigError } from '../config/load.js';
import type { RequestContext } from '../context.js';
import { RateLimited } from '../errors.js';
import type { Decision, LimiterStore, WindowLimiter } from './limiter-store.js';

/** Reads `Type.field → window` from the schema's `@rateLimit` directives and the config (config wins). */
export function collectFieldWindows(schema: GraphQLSchema, configured: Record<string, RateWindow>): Map<string, RateWindow> {
  const out = new Map<string, RateWindow>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const dir = field.astNode?.directives?.find((d) => d.name.value === 'rateLimit');
      if (!dir) continue;
      const arg = (name: string) => {
        const v = dir.arguments?.find((a) => a.name.value === name)?.value;
        return v?.kind === 'IntValue' ? Number(v.value) : undefined;
      };
      const points = arg('points');
      const durationSec = arg('durationSec');
      if (points && durationSec && points > 0 && durationSec > 0) out.set(`${type.name}.${field.name}`, { points, durationSec });
    }
  }
  const problems: Array<{ path: string; message: string }> = [];
  for (const [coordinate, window] of Object.entries(configured)) {
    const [typeName, fieldName] = coordinate.split('.') as [string, string];
    const type = schema.getType(typeName);
    if (!isObjectType(type) || !type.getFields()[fieldName]) {
      problems.push({ path: `rateLimit.fields.${coordinate}`, message: `${coordinate} is not a field of the composed schema` });
      continue;
    }
    out.set(coordinate, window);
  }
  if (problems.length) throw new ConfigError(problems);
  return out;
}

const LIMITED = Symbol('gateway.fieldLimit');
type LimitedResolver = GraphQLFieldResolver<unknown, { gw: RequestContext }> & { [LIMITED]?: true };

/** Records the first refusal of a request in `ctx.rateLimited` (see use-rate-limit.ts). */
export type { RateLimitedMark } from '../context.js';

export function markRateLimited(ctx: RequestContext, clientId: string, limit: string): void {
  (ctx.limits ??= []).push(`${limit}:exceeded`);
  ctx.rateLimited ??= { clientId, route: ctx.routeLabel, limit };
}

/**
 * The resolver of a limited field. A window in memory decides at once, so the field resolves as
 * its own resolver does (a value stays a value: no promise per resolution); a Redis window is awaited.
 */
function limitedResolver(limiter: WindowLimiter, label: string, next: GraphQLFieldResolver<unknown, any>): LimitedResolver {
  const refuse = (gw: RequestContext, clientId: string, d: Decision): never => {
    markRateLimited(gw, clientId, label);
    throw RateLimited(Math.max(1, Math.ceil(d.resetMs / 1000)));
  };
  const resolve: LimitedResolver = limiter.synchronous
    ? (source, args, context, info) => {
        const gw = context.gw;
        const clientId = gw.identity?.clientId ?? gw.ip;
        const d = limiter.take(clientId);
        if (!d.allowed) refuse(gw, clientId, d);
        return next(source, args, context, info);
      }
    : async (source, args, context, info) => {
        const gw = context.gw;
        const clientId = gw.identity?.clientId ?? gw.ip;
        const d = await limiter.take(clientId);
        if (!d.allowed) refuse(gw, clientId, d);
        return next(source, args, context, info);
      };
  resolve[LIMITED] = true;
  return resolve;
}

/** A limiter per limited field, created once. */
export function createFieldLimiters(store: LimiterStore, windows: Map<string, RateWindow>): Map<string, WindowLimiter> {
  const out = new Map<string, WindowLimiter>();
  for (const [coordinate, window] of windows) out.set(coordinate, store.window(`field:${coordinate}`, window));
  return out;
}

/**
 * Returns a copy of `schema` whose limited fields check their window before resolving. Fields
 * already wrapped (a schema passed through here before) are left alone, so a schema handed back
 * by another plugin never counts twice.
 */
export function applyFieldLimits(schema: GraphQLSchema, limiters: Map<string, WindowLimiter>): GraphQLSchema {
  let changed = false;
  const next = mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (field, fieldName, typeName) => {
      const limiter = limiters.get(`${typeName}.${fieldName}`);
      const current = field.resolve as LimitedResolver | undefined;
      if (!limiter || current?.[LIMITED]) return field;
      changed = true;
      return { ...field, resolve: limitedResolver(limiter, `field:${typeName}.${fieldName}`, current ?? defaultFieldResolver) };
    },
  });
  return changed ? next : schema;
}
