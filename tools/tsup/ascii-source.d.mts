// Types of ascii-source.mjs for the packages' tsup.config.ts (typechecked by vitest --typecheck).
export declare function asciiSource(): {
  name: string;
  renderChunk(code: string, info: { type: string; path: string }): { code: string } | undefined;
};
