// serve.deployment(classOrFunction, options) → Deployment; `.bind(...args)` → Application, the
// graph serve.run deploys. The user's code is turned into a tray RemoteFunction/ActorClass at
// definition time (so code that cannot ship fails here, with core's message), and travels to
// the controller and from it into each replica as such; a replica loads it with `.local()`.
// Bound arguments that are Applications become DeploymentHandles inside the replica.
import * as tray from '@tray/core';
import { type DeploymentOptions, type ResolvedOptions, resolveOptions } from '../config/options.js';

/** What a replica runs: the user's class (constructed with the bound args) or function. */
export type DeploymentCode = tray.ActorClass | tray.RemoteFunction;

export class Deployment<T = unknown> {
  /** @internal */
  readonly code: DeploymentCode;
  /** @internal */
  readonly kind: 'class' | 'function';
  /** @internal */
  readonly resolved: ResolvedOptions;
  /** @internal The user's source text (part of the code version). */
  readonly sourceText: string;
  readonly #given: DeploymentOptions;

  /** @internal Made by serve.deployment(). */
  constructor(
    code: DeploymentCode,
    kind: 'class' | 'function',
    sourceText: string,
    given: DeploymentOptions,
    resolved: ResolvedOptions,
  ) {
    this.code = code;
    this.sourceText = sourceText;
    this.kind = kind;
    this.#given = given;
    this.resolved = resolved;
  }

  get name(): string {
    return this.resolved.name;
  }

  /** A copy with these options over the current ones. */
  options(options: DeploymentOptions): Deployment<T> {
    const merged: DeploymentOptions = { ...this.#given, ...options };
    // numReplicas and autoscalingConfig replace each other, as Ray's .options().
    if (
      options.numReplicas !== undefined &&
      options.autoscalingConfig === undefined &&
      options.numReplicas !== 'auto'
    ) {
      delete merged.autoscalingConfig;
    }
    if (options.autoscalingConfig !== undefined && options.numReplicas === undefined)
      delete merged.numReplicas;
    return new Deployment(
      this.code,
      this.kind,
      this.sourceText,
      merged,
      resolveOptions(`${this.name}.options()`, this.name, merged),
    );
  }

  /** An application whose ingress is this deployment constructed with `args`. */
  bind(...args: unknown[]): Application<T> {
    return new Application<T>(this as Deployment, args);
  }
}

/** A bound deployment: the ingress of an application, or an argument of another binding. */
export class Application<T = unknown> {
  /** @internal Only carries T for the handle serve.run returns. */
  declare readonly __type?: T;

  /** @internal */
  constructor(
    readonly deployment: Deployment,
    readonly args: unknown[],
  ) {}
}

/** serve.deployment: wraps a class (one instance per replica) or a function (called per request). */
export function deployment<T extends (abstract new (...args: any[]) => any) | ((...args: any[]) => any)>(
  target: T,
  options: DeploymentOptions = {},
): Deployment<T> {
  if (typeof target !== 'function') {
    throw new TypeError(`serve.deployment expects a class or a function, got ${typeof target}`);
  }
  const isClass = /^class[\s{]/.test(Function.prototype.toString.call(target));
  const defaultName = target.name || 'Deployment';
  const resolved = resolveOptions(`serve.deployment(${defaultName})`, defaultName, options);
  const code = isClass
    ? tray.remote(target as unknown as new (...args: any[]) => any)
    : tray.remote(target as (...args: any[]) => any);
  return new Deployment<T>(
    code as DeploymentCode,
    isClass ? 'class' : 'function',
    Function.prototype.toString.call(target),
    options,
    resolved,
  );
}
