// A tsup plugin that writes every JavaScript chunk as pure ASCII: each non-ASCII UTF-16 code unit
// becomes a `\uXXXX` escape. esbuild already escapes strings, templates and regular expressions
// (its default `charset: 'ascii'`) but keeps comments as written, and one `—` in a comment makes
// V8 hold the whole file's source as a two-byte string: twice the heap (1.7 MB instead of 0.9 MB
// for @tray/protocol's bundle, in every process) and a slower UTF-8 decode at load. An escape
// means the same thing wherever esbuild leaves a non-ASCII character (a comment, an identifier),
// so the code is unchanged; only columns after one on its line move in the source map.
//   import { asciiSource } from '../../tools/tsup/ascii-source.mjs';
//   defineConfig({ ..., plugins: [asciiSource()] })

const NON_ASCII = /[\u0080-\uffff]/g;

export function asciiSource() {
  return {
    name: 'ascii-source',
    renderChunk(code, info) {
      if (info.type !== 'chunk' || !/\.(c|m)?js$/.test(info.path)) return undefined;
      NON_ASCII.lastIndex = 0;
      if (!NON_ASCII.test(code)) return undefined;
      return {
        code: code.replace(NON_ASCII, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
      };
    },
  };
}
