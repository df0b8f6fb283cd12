// @tray/serve: Ray Serve for tray. `import * as serve from '@tray/serve'` gives these names
// (LIBRARIES.md's Serve section).
export { BackPressureError, DeploymentUnavailableError, RequestTimeoutError } from './errors.js';
export { type FetchApp, type IngressClass, type IngressOptions, ingress } from './http/ingress.js';
