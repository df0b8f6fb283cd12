// serve.ingress(app): a web framework app with a `fetch(request)` method (Hono, itty-router, any
// WinterCG-style app) as a class serve.deployment takes, Ray's @serve.ingress for this runtime.
// A framework app is a graph of closures, which cannot travel to a replica as values, so there
// are two forms:
//   ingress(app)                                     the class closes over `app`: for classes
//       that ship by reference (the module exporting them is imported by the worker) and for
//       use in this process;
//   ingress(app, { module: import.meta.url, exportName: 'app' })   the class is written as
//       source that names the module and export, and imports the app in the replica on its
//       first request: it ships by source like any user class.
import type { FetchHandler } from './replica-http.js';

export interface FetchApp {
  fetch(request: Request, ...rest: any[]): Response | Promise<Response>;
}

export interface IngressOptions {
  /** The module exporting the app (a file URL such as import.meta.url, a path, or a package name). */
  module: string;
  /** The name the module exports the app under ('default' for a default export). */
  exportName: string;
}

export type IngressClass = new () => FetchHandler;

export function ingress(app: FetchApp, options?: IngressOptions): IngressClass {
  const shape = typeof app;
  if (app === null || (shape !== 'object' && shape !== 'function') || typeof app.fetch !== 'function') {
    throw new TypeError(
      'serve.ingress(app): app must have a fetch(request: Request) method returning a Response ' +
        '(a Hono app, an itty-router router, or any object with fetch)',
    );
  }
  if (options === undefined) {
    return class ServeIngress implements FetchHandler {
      fetch(request: Request) {
        return app.fetch(request);
      }
    };
  }
  if (options === null || typeof options !== 'object') {
    throw new TypeError('serve.ingress(app, options): options must be { module, exportName }');
  }
  for (const key of ['module', 'exportName'] as const) {
    if (typeof options[key] !== 'string' || options[key] === '') {
      throw new TypeError(
        `serve.ingress(app, { module, exportName }): ${key} must be a non-empty string ` +
          "(e.g. { module: import.meta.url, exportName: 'app' })",
      );
    }
  }
  const unknown = Object.keys(options).filter((k) => k !== 'module' && k !== 'exportName');
  if (unknown.length > 0) {
    throw new TypeError(
      `serve.ingress(app, options): unknown option ${unknown.join(', ')} (it takes module and exportName)`,
    );
  }
  return byModule(options.module, options.exportName);
}

/**
 * A class whose source holds the module and export as string literals, so it needs no captures.
 * Built with new Function on purpose: its text is what ships, and must not close over anything.
 */
function byModule(module: string, exportName: string): IngressClass {
  const source = `return class ServeIngress {
  async fetch(request) {
    if (this.app === undefined) {
      const loaded = await import(${JSON.stringify(module)});
      const app = loaded[${JSON.stringify(exportName)}];
      if (app === null || app === undefined || typeof app.fetch !== 'function') {
        throw new TypeError(${JSON.stringify(
          `serve.ingress: ${module} exports no app with a fetch method under ${JSON.stringify(exportName)}`,
        )});
      }
      this.app = app;
    }
    return this.app.fetch(request);
  }
}`;
  return new Function(source)() as IngressClass;
}
