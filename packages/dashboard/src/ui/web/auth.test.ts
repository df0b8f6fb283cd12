// The token in the URL fragment: found wherever it sits among other fragment parameters, and the
// rest of the fragment kept, so the address bar can be rewritten without it.
import { describe, expect, it } from 'vitest';
import { tokenFromFragment } from './auth.js';
import { parseRoute } from './hooks.js';

describe('tokenFromFragment', () => {
  it('takes the token out of a fragment that holds only it', () => {
    expect(tokenFromFragment('#token=abc123')).toEqual({ token: 'abc123', rest: '' });
  });

  it('keeps the rest of the fragment', () => {
    expect(tokenFromFragment('#/jobs&token=t%2Bx')).toEqual({ token: 't+x', rest: '#/jobs' });
    expect(tokenFromFragment('#token=t&x=1')).toEqual({ token: 't', rest: '#x=1' });
  });

  it('finds nothing in a fragment without a token, or with an empty one', () => {
    expect(tokenFromFragment('#/tasks')).toEqual({ rest: '#/tasks' });
    expect(tokenFromFragment('')).toEqual({ rest: '' });
    expect(tokenFromFragment('#token=').token).toBeUndefined();
  });
});

describe('parseRoute', () => {
  it('splits the hash route into decoded segments', () => {
    expect(parseRoute('#/jobs/raysubmit_1')).toEqual(['jobs', 'raysubmit_1']);
    expect(parseRoute('#/jobs/a%20b/')).toEqual(['jobs', 'a b']);
    expect(parseRoute('')).toEqual([]);
    expect(parseRoute('#/')).toEqual([]);
  });
});
