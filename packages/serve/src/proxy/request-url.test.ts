// The proxy's request URL (href, pathname, host) is what `new URL(target, http://host)` gives,
// whether or not it took the fast path: for plain targets and for every kind URL rewrites.
import { describe, expect, it } from 'vitest';
import { plain, requestUrl } from './request-url.js';

const targets = [
  '/',
  '/one',
  '/a/b/c?x=1&y=2',
  '/a?',
  '/a?q=a%20b&r=[1]{2}|`^',
  '/p%20q/%E2%9C%93',
  '/%',
  '/.well-known/x',
  '/a/./b',
  '/a/../b',
  '/a/%2e%2E/b',
  '/a/%2E',
  '/a b',
  '/a"b',
  '/a<b>',
  '/ä',
  "/a?x='y'",
  '/a?x="y"',
  '/a?x=ä',
  '/a#frag',
  '/a\\b',
  '/a//b',
  '/a;b=c@d:e',
  '//evil.example/x',
  'http://other.example/abs',
  '*',
];
const hosts = [
  '127.0.0.1:8000',
  'localhost:8000',
  'localhost',
  'example.com',
  'Example.COM:8000',
  'example.com:80',
  'example.com:080',
  'example.com:65536',
  '127.1:8000',
  '0x7f.0.0.1',
  '2130706433',
  'foo.123',
  'xn--nxasmq6b.example',
  '[::1]:8000',
  'a-b.c-d.example:1',
];

describe('requestUrl', () => {
  it('gives what URL gives for every target and host', () => {
    for (const host of hosts) {
      for (const target of targets) {
        let want: { href: string; pathname: string; host: string } | string;
        try {
          const url = new URL(target, `http://${host}`);
          want = { href: url.href, pathname: url.pathname, host: url.host };
        } catch (error) {
          want = (error as Error).name;
        }
        let got: typeof want;
        try {
          got = requestUrl(target, host);
        } catch (error) {
          got = (error as Error).name;
        }
        expect({ host, target, got }).toEqual({ host, target, got: want });
      }
    }
  });

  it('takes no parse for the plain requests a client sends', () => {
    for (const [target, host] of [
      ['/', '127.0.0.1:8000'],
      ['/one', 'localhost:8000'],
      ['/a/b/c?x=1&y=2', 'example.com'],
      ['/p%20q/%E2%9C%93', 'a-b.c-d.example:1'],
    ] as const) {
      expect(plain(target, host)).toEqual(requestUrl(target, host));
    }
    expect(plain('/a/../b', 'localhost')).toBeUndefined();
    expect(plain('/', 'LOCALHOST')).toBeUndefined();
  });
});
