// The tar entry safety rules, entry by entry, without touching the filesystem.
import { describe, expect, it } from 'vitest';
import { EntryPolicy, type ArchiveEntry } from '../../../src/artifacts/entry-policy.js';
import { ArtifactError } from '../../../src/errors.js';

const roomy = { maxBytes: 1_000_000, maxEntries: 1_000 };

function file(path: string, size = 10, mode = 0o644): ArchiveEntry {
  return { path, type: 'file', size, mode };
}
function directory(path: string): ArchiveEntry {
  return { path, type: 'directory', size: 0, mode: 0o755 };
}
function symlink(path: string, linkpath: string): ArchiveEntry {
  return { path, type: 'symlink', linkpath, size: 0, mode: 0o777 };
}
function hardlink(path: string, linkpath: string): ArchiveEntry {
  return { path, type: 'hardlink', linkpath, size: 0, mode: 0o644 };
}

/** Feeds `accepted` in order (each must pass), then returns the message refusing `last`. */
function refusal(accepted: ArchiveEntry[], last: ArchiveEntry, limits = roomy): string {
  const policy = new EntryPolicy(limits);
  for (const entry of accepted) policy.check(entry);
  try {
    policy.check(last);
  } catch (error) {
    expect(error).toBeInstanceOf(ArtifactError);
    return (error as Error).message;
  }
  throw new Error(`${last.path} was accepted`);
}

function acceptsAll(entries: ArchiveEntry[], limits = roomy): void {
  const policy = new EntryPolicy(limits);
  for (const entry of entries) expect(() => policy.check(entry)).not.toThrow();
}

describe('EntryPolicy: a normal release', () => {
  it('accepts files, directories, links inside the release and the release directory itself', () => {
    acceptsAll([
      directory('./'),
      directory('hooks/'),
      directory('hooks/pre-release/'),
      file('hooks/pre-release/10-migrate', 100, 0o755),
      file('./app/config.yaml'),
      symlink('app/current.yaml', 'config.yaml'),
      symlink('bin', 'app/../hooks'),
      symlink('deep/a/b/up', '../../c'),
      symlink('forward', 'later/dir'),
      file('later/dir/x'),
      hardlink('app/copy.yaml', 'app/config.yaml'),
      file('app/config.yaml'),
    ]);
  });

  it('keeps the permission bits and clears setuid, setgid and sticky', () => {
    const policy = new EntryPolicy(roomy);
    expect(policy.check(file('bin/tool', 1, 0o4755))).toEqual({ mode: 0o755 });
    expect(policy.check(file('bin/group', 1, 0o2750))).toEqual({ mode: 0o750 });
    expect(policy.check({ ...directory('tmp/'), mode: 0o1777 })).toEqual({ mode: 0o777 });
    expect(policy.check(file('plain', 1, 0o600))).toEqual({ mode: 0o600 });
  });
});

describe('EntryPolicy: paths', () => {
  it('refuses an absolute path', () => {
    expect(refusal([], file('/etc/cron.d/evil'))).toBe('refusing entry "/etc/cron.d/evil": its path is absolute');
  });

  it.each(['../evil', 'a/../../evil', 'a/..', './..'])('refuses %j, which has a ".." segment', (path) => {
    expect(refusal([], file(path))).toBe(`refusing entry ${JSON.stringify(path)}: its path contains ".."`);
  });

  it('refuses a file in place of the release directory itself', () => {
    expect(refusal([], file('./'))).toBe('refusing entry "./": a file cannot replace the release directory itself');
  });

  it.each([
    ['a newline', 'hooks/pre-release/10-x\nerror: forged', '"\\n"'],
    ['a carriage return', 'a\rb', '"\\r"'],
    ['a tab', 'a\tb', '"\\t"'],
    ['an escape', 'a\u001b[2Jb', '"\\u001b"'],
    ['a DEL', 'a\u007fb', '"\\u007f"'],
  ])('refuses a path with %s, which would forge lines in logs', (_name, path, shown) => {
    expect(refusal([], file(path))).toBe(
      `refusing entry ${JSON.stringify(path).replace('\u007f', '\\u007f')}: its path contains the control character ${shown}, ` +
        'which logs and line-oriented tools would misread',
    );
  });

  it('refuses a link target with a control character', () => {
    expect(refusal([file('a')], symlink('link', 'a\nb'))).toBe(
      'refusing entry "link": its link target contains the control character "\\n", which logs and line-oriented tools would misread',
    );
  });

  it('accepts names with spaces and non-ASCII letters', () => {
    const policy = new EntryPolicy(roomy);
    expect(policy.check(file('docs/read me – ünïcode.txt'))).toEqual({ mode: 0o644 });
  });
});

describe('EntryPolicy: entry types', () => {
  it.each(['character device', 'block device', 'FIFO', 'GNU dump directory'])('refuses a %s, naming the entry and its type', (type) => {
    expect(refusal([], { path: 'dev/thing', type, size: 0, mode: 0o644 })).toBe(
      `refusing entry "dev/thing": it is a ${type}; only regular files, directories, symlinks and hardlinks are allowed`,
    );
  });
});

describe('EntryPolicy: symlinks', () => {
  it('refuses an absolute target', () => {
    expect(refusal([], symlink('root', '/'))).toBe('refusing entry "root": the symlink target "/" is absolute, outside the release');
  });

  it('refuses a relative target that climbs out', () => {
    expect(refusal([], symlink('a/b/up', '../../..'))).toBe('refusing entry "a/b/up": the symlink target "../../.." resolves outside the release');
  });

  it('refuses an empty target', () => {
    expect(refusal([], symlink('empty', ''))).toBe('refusing entry "empty": the symlink has no target');
  });

  it('catches a chain that escapes only on its third hop', () => {
    // Each target alone stays inside; followed through the links seen before, l3 leads to the parent of the release.
    const chain = [directory('sub/'), symlink('l1', 'sub'), symlink('l2', 'l1/..')];
    acceptsAll(chain);
    expect(refusal(chain, symlink('l3', 'l2/..'))).toBe('refusing entry "l3": the symlink target "l2/.." resolves outside the release');
  });

  it('catches a chain through links in subdirectories', () => {
    const chain = [symlink('a', 'sub/..'), symlink('deep/b', '../a/..')];
    expect(refusal(chain.slice(0, 1), chain[1]!)).toBe('refusing entry "deep/b": the symlink target "../a/.." resolves outside the release');
  });

  it('catches a later symlink that makes an earlier one escape', () => {
    // "a -> x/.." is harmless while x is a directory; once x is a link to ".", a leads out of the release.
    expect(refusal([symlink('a', 'x/..')], symlink('x', '.'))).toBe(
      'refusing entry "x": the symlink would make the earlier symlink "a" -> "x/.." resolve outside the release or loop',
    );
  });

  it('accepts a later symlink that keeps an earlier one inside', () => {
    acceptsAll([symlink('a', 'x/y'), directory('sub/'), symlink('x', 'sub')]);
  });

  it('refuses a loop of symlinks', () => {
    expect(refusal([symlink('a', 'b')], symlink('b', 'a'))).toBe('refusing entry "b": the symlink target "a" is a loop of symlinks');
  });

  it('refuses a symlink that points at itself', () => {
    expect(refusal([], symlink('self', 'self'))).toBe('refusing entry "self": the symlink target "self" is a loop of symlinks');
  });

  it('refuses a symlink replacing an earlier entry', () => {
    expect(refusal([file('a/b')], symlink('a', 'c'))).toBe('refusing entry "a": the symlink replaces an entry earlier in the archive');
  });
});

describe('EntryPolicy: writing through symlinks', () => {
  it('refuses a file whose parent is a symlink seen earlier', () => {
    expect(refusal([directory('etc/'), symlink('link', 'etc')], file('link/passwd'))).toBe(
      'refusing entry "link/passwd": it would be written through the symlink "link"',
    );
  });

  it('refuses a directory below a symlinked directory deeper in the path', () => {
    expect(refusal([symlink('a/b', 'c')], directory('a/b/d/e/'))).toBe('refusing entry "a/b/d/e/": it would be written through the symlink "a/b"');
  });

  it('refuses an entry that replaces a symlink', () => {
    expect(refusal([symlink('cfg', 'real')], file('cfg'))).toBe('refusing entry "cfg": it replaces a symlink earlier in the archive');
  });
});

describe('EntryPolicy: hardlinks', () => {
  it('refuses an absolute target', () => {
    expect(refusal([], hardlink('passwd', '/etc/passwd'))).toBe('refusing entry "passwd": the hardlink target "/etc/passwd" is absolute');
  });

  it('refuses a target with ".."', () => {
    expect(refusal([], hardlink('passwd', '../../etc/passwd'))).toBe(
      'refusing entry "passwd": the hardlink target "../../etc/passwd" contains ".."',
    );
  });

  it('refuses a target through a symlink', () => {
    expect(refusal([file('real/f'), symlink('link', 'real')], hardlink('h', 'link/f'))).toBe(
      'refusing entry "h": the hardlink target "link/f" goes through the symlink "link"',
    );
  });

  it('refuses a target that is not in the archive yet', () => {
    expect(refusal([], hardlink('h', 'later'))).toBe('refusing entry "h": the hardlink target "later" is not a regular file earlier in the archive');
  });

  it('refuses a target that is a directory', () => {
    expect(refusal([directory('d/')], hardlink('h', 'd'))).toBe('refusing entry "h": the hardlink target "d" is not a regular file earlier in the archive');
  });

  it('refuses a target without a path', () => {
    expect(refusal([], { ...hardlink('h', ''), linkpath: '' })).toBe('refusing entry "h": the hardlink has no target');
  });
});

describe('EntryPolicy: limits', () => {
  it('refuses the entry past maxEntries', () => {
    const limits = { maxBytes: 1_000, maxEntries: 2 };
    expect(refusal([file('a', 1), file('b', 1)], file('c', 1), limits)).toBe('refusing entry "c": the archive has more than 2 entries (fetch.max_entries)');
  });

  it('accepts exactly maxEntries entries and maxBytes bytes', () => {
    acceptsAll([file('a', 600), file('b', 400)], { maxBytes: 1_000, maxEntries: 2 });
  });

  it('refuses the entry whose content passes maxBytes', () => {
    const limits = { maxBytes: 1_000, maxEntries: 10 };
    expect(refusal([file('a', 600)], file('b', 401), limits)).toBe("refusing entry \"b\": the archive's content exceeds 1000 bytes (fetch.max_bytes)");
  });
});
