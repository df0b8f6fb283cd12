// `node --require @tray/protocol/code-cache` (dist/code-cache.cjs): installs the V8 code cache
// (code-cache.ts) for the whole process.
import { installCodeCache } from './code-cache.js';

installCodeCache();
