// How `tray job submit -- ...` turns its arguments into the entrypoint shell command: one
// argument is the command as written; several are quoted where the shell would split or expand
// them (as Ray's list2cmdline joins them), so `-- node -e "console.log(1 + 1)"` runs as typed.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { entrypointOf } from './job.js';

const sh = (command: string) => execFileSync('/bin/sh', ['-c', command], { encoding: 'utf8' });

describe('entrypointOf', () => {
  it('keeps a single argument as the shell command', () => {
    expect(entrypointOf(['echo a && echo b'])).toBe('echo a && echo b');
    expect(sh(entrypointOf(['echo a && echo b']))).toBe('a\nb\n');
  });

  it('quotes arguments the shell would split or expand', () => {
    const node = entrypointOf([process.execPath, '-e', `console.log("it's", 1 + 1, '$HOME')`]);
    expect(sh(node)).toBe("it's 2 $HOME\n");
    expect(sh(entrypointOf(['printf', '%s|', 'a b', "it's", '$HOME', '*']))).toBe("a b|it's|$HOME|*|");
  });
});
