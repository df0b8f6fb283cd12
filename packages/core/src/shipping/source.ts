// Turns a live function or class into source text that evaluates to it elsewhere. What
// `Function.prototype.toString` returns is not always an expression: declarations become
// expressions by parenthesising, and method shorthand (`f(x) { … }`, `async *g() { … }`,
// `get x() { … }`) is rewritten as the equivalent anonymous function expression. Positions in
// the result map back to the original text so that errors point where the user wrote the code.
import type { Options } from 'acorn';
import { acorn } from './acorn.js';
import type { AstNode } from './scope.js';
import type { RemoteKind } from './shipped-code.js';

export interface NormalisedSource {
  kind: RemoteKind;
  /** What Function.prototype.toString returned. */
  original: string;
  /** A parenthesised expression evaluating to the function or class. */
  expression: string;
  /** The parsed `expression` (a Program holding one ExpressionStatement). */
  program: AstNode;
  /** Whether `expression` is also valid strict-mode code. */
  parsesStrict: boolean;
  /** Maps an offset in `expression` to the offset in `original`. */
  toOriginal(offset: number): number;
}

const PARSE_OPTIONS: Options = { ecmaVersion: 'latest', sourceType: 'script' };

/** Thrown when the function's text cannot be made into a shippable expression. */
export class UnshippableSourceError extends Error {}

export function normaliseSource(target: Function): NormalisedSource {
  const original = Function.prototype.toString.call(target);
  const asIs = tryParse(`(${original}\n)`);
  const expression = asIs && singleExpression(asIs);
  if (asIs && expression && /^(Arrow)?Function(Expression)$|^ClassExpression$/.test(expression.type)) {
    return finish(
      expression.type === 'ClassExpression' ? 'class' : 'function',
      original,
      `(${original}\n)`,
      asIs,
      (offset) => offset - 1,
    );
  }
  return normaliseMethod(original);
}

function normaliseMethod(original: string): NormalisedSource {
  const wrapped = `({${original}\n})`;
  const program = tryParse(wrapped);
  const object = program && singleExpression(program);
  const property =
    object?.type === 'ObjectExpression' && object.properties.length === 1 ? object.properties[0] : undefined;
  if (property?.type !== 'Property' || property.value.type !== 'FunctionExpression') {
    throw new UnshippableSourceError(describeParseFailure(original));
  }
  const fn = property.value as AstNode;
  // Acorn starts a method's FunctionExpression at its parameter list.
  const head = `(${fn.async ? 'async ' : ''}function${fn.generator ? '*' : ''} `;
  const expression = `${head}${wrapped.slice(fn.start, fn.end)}\n)`;
  const parsed = tryParse(expression);
  if (!parsed) {
    const why = usesSuper(original)
      ? 'it uses `super`, which only works inside its class or object literal. Ship the whole class instead'
      : describeParseFailure(original);
    throw new UnshippableSourceError(why);
  }
  const shift = fn.start - head.length;
  return finish('function', original, expression, parsed, (offset) => offset + shift - 2);
}

function finish(
  kind: RemoteKind,
  original: string,
  expression: string,
  program: AstNode,
  toOriginal: (offset: number) => number,
): NormalisedSource {
  const parsesStrict = tryParse(`'use strict';${expression}`) !== undefined;
  return { kind, original, expression, program, parsesStrict, toOriginal };
}

function tryParse(text: string): AstNode | undefined {
  try {
    return acorn().parse(text, PARSE_OPTIONS) as unknown as AstNode;
  } catch {
    return undefined;
  }
}

function singleExpression(program: AstNode): AstNode | undefined {
  const [statement] = program.body;
  if (program.body.length !== 1 || statement.type !== 'ExpressionStatement') return undefined;
  return statement.expression;
}

function usesSuper(text: string): boolean {
  return /\bsuper\s*[.([]/.test(text);
}

function describeParseFailure(original: string): string {
  try {
    acorn().parse(`(${original}\n)`, PARSE_OPTIONS);
    return 'its source is not a function expression';
  } catch (error) {
    return `its source does not parse as JavaScript (${(error as Error).message})`;
  }
}

/** 1-based line and column of `offset` in `text`. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
