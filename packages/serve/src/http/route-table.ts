// The route table the proxy polls from the controller (ServeController.getRouteTable()): one
// route per application that has a routePrefix, its ingress deployment, and a version that grows
// whenever a route is added, changed or removed.
export interface RouteTable {
  version: number;
  routes: Array<{ routePrefix: string; app: string; ingress: string }>;
}
