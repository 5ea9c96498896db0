/**
 * Removes graphql-js's "Did you mean …?" hints from error messages. graphql-js always puts the
 * hint last in the message (its `didYouMean` helper), as " Did you mean X?" or, for enum
 * values, " Did you mean the enum value X?".
 */
import { GraphQLError } from 'graphql';

const HINT = / ?Did you mean [\s\S]*\?$/;

function strip(e: GraphQLError): GraphQLError {
  if (!(e instanceof GraphQLError) || !HINT.test(e.message)) return e;
  return new GraphQLError(e.message.replace(HINT, ''), {
    nodes: e.nodes,
    source: e.source,
    positions: e.positions,
    path: e.path,
    originalError: e.originalError,
    extensions: e.extensions,
  });
}

/** The errors with every suggestion removed (the same array when none had one). */
export function withoutSuggestions(errors: readonly GraphQLError[]): readonly GraphQLError[] {
  return errors.some((e) => HINT.test(e.message)) ? errors.map(strip) : errors;
}
