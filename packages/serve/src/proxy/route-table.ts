// The proxy's view of the controller's route table and how a path picks a route: the longest
// route prefix that matches the path on a segment boundary ("/api" takes "/api" and "/api/x",
// not "/apix"; "/" takes everything), as Ray's proxy router matches.

export interface Route {
  routePrefix: string;
  /** The application's name. */
  app: string;
  /** The name of the application's ingress deployment. */
  ingress: string;
}

/** What the controller's getRouteTable() answers; version changes whenever the routes do. */
export interface RouteTable {
  version: number | string;
  routes: Route[];
}

/** Routes sorted for matching: longest prefix first. */
export class RouteMatcher {
  private readonly sorted: Route[];

  constructor(routes: readonly Route[]) {
    this.sorted = [...routes]
      .map((r) => ({ ...r, routePrefix: normalisePrefix(r.routePrefix) }))
      .sort((a, b) => b.routePrefix.length - a.routePrefix.length);
  }

  get routes(): readonly Route[] {
    return this.sorted;
  }

  /** The route of the longest prefix matching this path (no query), or undefined. */
  match(path: string): Route | undefined {
    for (const route of this.sorted) {
      const prefix = route.routePrefix;
      if (prefix === '/') return route;
      if (path === prefix || (path.startsWith(prefix) && path[prefix.length] === '/')) return route;
    }
    return undefined;
  }
}

/** "/api/" and "/api" are one prefix. */
function normalisePrefix(prefix: string): string {
  return prefix.length > 1 && prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
}
