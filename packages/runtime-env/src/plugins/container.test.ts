// The container plugin's podman path, where this machine cannot run podman: the value's
// checks, and the `podman run` command a worker of an image starts with (what a node with
// podman runs; test/runtime-env/sandbox.test.ts shows the error where podman is missing).
import { describe, expect, it } from 'vitest';
import { emptyContext, type PluginNodeContext } from '../plugin.js';
import { containerPlugin } from './container.js';

const ctx = {
  cacheDir: '/s/runtime_resources/n/container',
  sessionDir: '/s',
  installPaths: ['/opt/tray'],
  fetchPackage: async () => Buffer.alloc(0),
  signal: new AbortController().signal,
  run: async () => ({ code: 0, signal: null, output: '' }),
} satisfies PluginNodeContext;

describe('container.image (podman)', () => {
  it('checks the value: an image name, runOptions only with an image', () => {
    expect(containerPlugin.validate({ image: 'node:22', runOptions: ['--memory=1g'] })).toEqual({
      bind: [],
      image: 'node:22',
      runOptions: ['--memory=1g'],
    });
    expect(() => containerPlugin.validate({ image: '--privileged' })).toThrow(/must be an image name/);
    expect(() => containerPlugin.validate({ runOptions: ['--memory=1g'] })).toThrow(
      /runOptions needs an image/,
    );
    expect(() => containerPlugin.validate({ runOptions: [1] })).toThrow(/array of podman run options/);
    expect(containerPlugin.uris(containerPlugin.validate({ image: 'node:22' }))).toEqual([
      'container://podman/node:22',
    ]);
    expect(containerPlugin.uris(containerPlugin.validate(true))).toEqual(['container://bubblewrap']);
  });

  it("runs the worker with podman: host network, the session and /dev/shm mounted, tray's variables, the image's node", () => {
    const context = emptyContext();
    context.cwd = '/s/runtime_resources/n/workingDir/abc';
    context.readPaths.push('/s/runtime_resources/n/npm/def');
    context.env.MODE = 'x';
    const value = containerPlugin.validate({
      image: 'node:22',
      bind: ['/data'],
      runOptions: ['--memory=1g'],
    });
    containerPlugin.modifyContext(containerPlugin.uris(value), value, context, ctx);
    expect(context.commandPrefix).toEqual([
      'podman',
      'run',
      '--rm',
      '--init',
      '--network',
      'host',
      '-v',
      '/s:/s',
      '-v',
      '/dev/shm:/dev/shm',
      '-v',
      '/opt/tray:/opt/tray:ro',
      '-v',
      '/s/runtime_resources/n/npm/def:/s/runtime_resources/n/npm/def:ro',
      '-v',
      '/data:/data:ro',
      '-e',
      'TRAY_*',
      '-e',
      'MODE',
      '--workdir',
      '/s/runtime_resources/n/workingDir/abc',
      '--memory=1g',
      'node:22',
    ]);
    // The pool appends `<node> <worker entry>`: the image's node.
    expect(context.nodeExecPath).toBe('node');
  });

  it("mounts the env's own Node binary (nodeVersion) and runs it", () => {
    const context = emptyContext();
    context.nodeExecPath = '/s/runtime_resources/n/nodeVersion/22.9.0/bin/node';
    const value = containerPlugin.validate({ image: 'debian:12' });
    containerPlugin.modifyContext(containerPlugin.uris(value), value, context, ctx);
    expect(context.commandPrefix).toContain(
      '/s/runtime_resources/n/nodeVersion/22.9.0/bin:/s/runtime_resources/n/nodeVersion/22.9.0/bin:ro',
    );
    expect(context.nodeExecPath).toBe('/s/runtime_resources/n/nodeVersion/22.9.0/bin/node');
  });
});
