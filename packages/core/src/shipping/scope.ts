// Scope analysis of a shipped function's syntax tree: which identifiers it reads or writes that it
// does not declare itself (its free names), and where its dynamic `import()` calls are. Follows
// JavaScript's scoping rules — var/function hoisting to the function, let/const/class per block,
// parameters and their defaults, catch parameters, destructuring, class bodies, static blocks —
// and knows which identifiers are not references at all: property names (`a.b`, `{ b: 1 }`,
// class members), labels, and `import.meta`/`new.target`. Works on acorn's ESTree output.

/** An ESTree node as acorn produces it; the walker reads fields by node type. */
export interface AstNode {
  type: string;
  start: number;
  end: number;
  [field: string]: any;
}

/** An identifier used but not declared by the analysed code. */
export interface FreeReference {
  name: string;
  /** Offset of the identifier in the parsed text. */
  start: number;
}

export interface ScopeAnalysis {
  /** Every free reference in source order (a name used twice appears twice). */
  free: FreeReference[];
  /** Offsets of the `import` keyword of each dynamic `import(...)` expression. */
  imports: number[];
}

class Scope {
  readonly names = new Set<string>();
  constructor(
    readonly parent: Scope | undefined,
    /** True for scopes that receive `var` declarations (functions, programs, static blocks). */
    readonly holdsVars: boolean,
  ) {}

  declares(name: string): boolean {
    for (let scope: Scope | undefined = this; scope; scope = scope.parent) {
      if (scope.names.has(name)) return true;
    }
    return false;
  }
}

const NON_CHILD_FIELDS = new Set(['type', 'start', 'end', 'loc', 'range']);

/** Finds the free identifiers and dynamic imports of a parsed program. */
export function analyseScopes(program: AstNode): ScopeAnalysis {
  const result: ScopeAnalysis = { free: [], imports: [] };
  const root = new Scope(undefined, true);
  declareHoisted(program.body, root, root);
  for (const statement of program.body) visit(statement, root, result);
  return result;
}

function visit(node: AstNode | null | undefined, scope: Scope, out: ScopeAnalysis): void {
  if (!node) return;
  switch (node.type) {
    case 'Identifier':
      if (!scope.declares(node.name)) out.free.push({ name: node.name, start: node.start });
      return;
    case 'FunctionDeclaration':
    case 'FunctionExpression':
    case 'ArrowFunctionExpression':
      visitFunction(node, scope, out);
      return;
    case 'ClassDeclaration':
    case 'ClassExpression':
      visitClass(node, scope, out);
      return;
    case 'BlockStatement': {
      const block = new Scope(scope, false);
      declareLexical(node.body, block, nearestVarScope(scope));
      for (const statement of node.body) visit(statement, block, out);
      return;
    }
    case 'ForStatement':
    case 'ForInStatement':
    case 'ForOfStatement': {
      const loop = new Scope(scope, false);
      const head = node.type === 'ForStatement' ? node.init : node.left;
      if (head?.type === 'VariableDeclaration' && head.kind !== 'var') {
        for (const declarator of head.declarations) declarePattern(declarator.id, loop);
      }
      if (node.type === 'ForStatement') {
        visit(node.init, loop, out);
        visit(node.test, loop, out);
        visit(node.update, loop, out);
      } else {
        if (head.type === 'VariableDeclaration') visit(head, loop, out);
        else visitAssignmentTarget(head, loop, out);
        visit(node.right, loop, out);
      }
      visit(node.body, loop, out);
      return;
    }
    case 'VariableDeclaration':
      for (const declarator of node.declarations) {
        visitBindingPattern(declarator.id, scope, out);
        visit(declarator.init, scope, out);
      }
      return;
    case 'CatchClause': {
      const catchScope = new Scope(scope, false);
      if (node.param) {
        declarePattern(node.param, catchScope);
        visitBindingPattern(node.param, catchScope, out);
      }
      visit(node.body, catchScope, out);
      return;
    }
    case 'SwitchStatement': {
      visit(node.discriminant, scope, out);
      const cases = new Scope(scope, false);
      const statements = node.cases.flatMap((c: AstNode) => c.consequent);
      declareLexical(statements, cases, nearestVarScope(scope));
      for (const switchCase of node.cases) {
        visit(switchCase.test, cases, out);
        for (const statement of switchCase.consequent) visit(statement, cases, out);
      }
      return;
    }
    case 'StaticBlock': {
      const block = new Scope(scope, true);
      declareHoisted(node.body, block, block);
      for (const statement of node.body) visit(statement, block, out);
      return;
    }
    case 'LabeledStatement':
      visit(node.body, scope, out);
      return;
    case 'BreakStatement':
    case 'ContinueStatement':
    case 'MetaProperty':
    case 'ThisExpression':
    case 'Super':
    case 'Literal':
    case 'PrivateIdentifier':
    case 'TemplateElement':
      return;
    case 'MemberExpression':
      visit(node.object, scope, out);
      if (node.computed) visit(node.property, scope, out);
      return;
    case 'Property':
      // Only object literals reach here; object patterns go through the pattern visitors.
      if (node.computed) visit(node.key, scope, out);
      visit(node.value, scope, out);
      return;
    case 'AssignmentExpression':
      visitAssignmentTarget(node.left, scope, out);
      visit(node.right, scope, out);
      return;
    case 'UnaryExpression':
      // `typeof x` on an undeclared name is the standard "does this global exist" test; it does
      // not throw, so it is not an error for remote code either.
      if (node.operator === 'typeof' && node.argument.type === 'Identifier') return;
      visit(node.argument, scope, out);
      return;
    case 'ImportExpression':
      out.imports.push(node.start);
      visit(node.source, scope, out);
      visit(node.options, scope, out);
      return;
    default:
      visitChildren(node, scope, out);
  }
}

function visitChildren(node: AstNode, scope: Scope, out: ScopeAnalysis): void {
  for (const field of Object.keys(node)) {
    if (NON_CHILD_FIELDS.has(field)) continue;
    const value = node[field];
    if (Array.isArray(value)) {
      for (const child of value) if (child && typeof child.type === 'string') visit(child, scope, out);
    } else if (value && typeof value.type === 'string') {
      visit(value, scope, out);
    }
  }
}

function visitFunction(fn: AstNode, scope: Scope, out: ScopeAnalysis): void {
  let outer = scope;
  if (fn.type === 'FunctionExpression' && fn.id) {
    // A named function expression sees its own name; nothing outside does.
    outer = new Scope(scope, false);
    outer.names.add(fn.id.name);
  }
  const params = new Scope(outer, true);
  if (fn.type !== 'ArrowFunctionExpression') params.names.add('arguments');
  for (const param of fn.params) declarePattern(param, params);
  for (const param of fn.params) visitBindingPattern(param, params, out);
  if (fn.body.type !== 'BlockStatement') {
    visit(fn.body, params, out);
    return;
  }
  const body = new Scope(params, true);
  declareHoisted(fn.body.body, body, body);
  for (const statement of fn.body.body) visit(statement, body, out);
}

function visitClass(cls: AstNode, scope: Scope, out: ScopeAnalysis): void {
  const inner = new Scope(scope, false);
  if (cls.id) inner.names.add(cls.id.name);
  visit(cls.superClass, inner, out);
  for (const member of cls.body.body) {
    if (member.type === 'StaticBlock') {
      visit(member, inner, out);
      continue;
    }
    if (member.computed) visit(member.key, inner, out);
    if (member.type === 'MethodDefinition') visitFunction(member.value, inner, out);
    else if (member.value) visit(member.value, new Scope(inner, true), out);
  }
}

/** Visits the parts of a declared pattern that are expressions: defaults and computed keys. */
function visitBindingPattern(pattern: AstNode | null, scope: Scope, out: ScopeAnalysis): void {
  if (!pattern) return;
  switch (pattern.type) {
    case 'ObjectPattern':
      for (const property of pattern.properties) {
        if (property.type === 'RestElement') {
          visitBindingPattern(property.argument, scope, out);
          continue;
        }
        if (property.computed) visit(property.key, scope, out);
        visitBindingPattern(property.value, scope, out);
      }
      return;
    case 'ArrayPattern':
      for (const element of pattern.elements) visitBindingPattern(element, scope, out);
      return;
    case 'AssignmentPattern':
      visitBindingPattern(pattern.left, scope, out);
      visit(pattern.right, scope, out);
      return;
    case 'RestElement':
      visitBindingPattern(pattern.argument, scope, out);
      return;
    default:
      // An Identifier being declared: not a reference.
      return;
  }
}

/** Visits the target of an assignment: its identifiers are references (writes). */
function visitAssignmentTarget(target: AstNode | null, scope: Scope, out: ScopeAnalysis): void {
  if (!target) return;
  switch (target.type) {
    case 'ObjectPattern':
      for (const property of target.properties) {
        if (property.type === 'RestElement') {
          visitAssignmentTarget(property.argument, scope, out);
          continue;
        }
        if (property.computed) visit(property.key, scope, out);
        visitAssignmentTarget(property.value, scope, out);
      }
      return;
    case 'ArrayPattern':
      for (const element of target.elements) visitAssignmentTarget(element, scope, out);
      return;
    case 'AssignmentPattern':
      visitAssignmentTarget(target.left, scope, out);
      visit(target.right, scope, out);
      return;
    case 'RestElement':
      visitAssignmentTarget(target.argument, scope, out);
      return;
    default:
      visit(target, scope, out);
  }
}

function nearestVarScope(scope: Scope): Scope {
  let current = scope;
  while (!current.holdsVars && current.parent) current = current.parent;
  return current;
}

/** Declares everything a function body (or program, or static block) hoists into `scope`. */
function declareHoisted(statements: AstNode[], varScope: Scope, blockScope: Scope): void {
  declareLexical(statements, blockScope, varScope);
  for (const statement of statements) declareVars(statement, varScope);
}

/** Declares a statement list's own let/const/class/function declarations in `scope`. */
function declareLexical(statements: AstNode[], scope: Scope, varScope: Scope): void {
  for (const statement of statements) {
    if (statement.type === 'VariableDeclaration' && statement.kind !== 'var') {
      for (const declarator of statement.declarations) declarePattern(declarator.id, scope);
    } else if (statement.type === 'ClassDeclaration') {
      scope.names.add(statement.id.name);
    } else if (statement.type === 'FunctionDeclaration') {
      scope.names.add(statement.id.name);
      // Sloppy-mode code also sees block-level functions from the enclosing function (Annex B);
      // accepting that here only avoids a false error, never hides a real free name.
      varScope.names.add(statement.id.name);
    }
  }
}

/** Declares the `var` declarations (and block functions) nested in a statement, not in functions. */
function declareVars(node: AstNode | null, varScope: Scope): void {
  if (!node) return;
  switch (node.type) {
    case 'VariableDeclaration':
      if (node.kind === 'var')
        for (const declarator of node.declarations) declarePattern(declarator.id, varScope);
      return;
    case 'FunctionDeclaration':
      varScope.names.add(node.id.name);
      return;
    case 'BlockStatement':
    case 'StaticBlock':
      for (const statement of node.body) declareVars(statement, varScope);
      return;
    case 'IfStatement':
      declareVars(node.consequent, varScope);
      declareVars(node.alternate, varScope);
      return;
    case 'ForStatement':
      declareVars(node.init, varScope);
      declareVars(node.body, varScope);
      return;
    case 'ForInStatement':
    case 'ForOfStatement':
      declareVars(node.left, varScope);
      declareVars(node.body, varScope);
      return;
    case 'WhileStatement':
    case 'DoWhileStatement':
    case 'LabeledStatement':
    case 'WithStatement':
      declareVars(node.body, varScope);
      return;
    case 'TryStatement':
      declareVars(node.block, varScope);
      declareVars(node.handler?.body, varScope);
      declareVars(node.finalizer, varScope);
      return;
    case 'SwitchStatement':
      for (const switchCase of node.cases) for (const s of switchCase.consequent) declareVars(s, varScope);
      return;
    default:
      return;
  }
}

/** Declares every name bound by a pattern (`a`, `{ a, b: [c] }`, `...rest`, `d = 1`). */
function declarePattern(pattern: AstNode | null, scope: Scope): void {
  if (!pattern) return;
  switch (pattern.type) {
    case 'Identifier':
      scope.names.add(pattern.name);
      return;
    case 'ObjectPattern':
      for (const property of pattern.properties) {
        declarePattern(property.type === 'RestElement' ? property.argument : property.value, scope);
      }
      return;
    case 'ArrayPattern':
      for (const element of pattern.elements) declarePattern(element, scope);
      return;
    case 'AssignmentPattern':
      declarePattern(pattern.left, scope);
      return;
    case 'RestElement':
      declarePattern(pattern.argument, scope);
      return;
    default:
      return;
  }
}
