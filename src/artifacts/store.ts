// The artifact store the deploy pipeline reads pointers and releases from: an interface, so the pipeline runs against fakes.
import type { Readable } from 'node:stream';
import { ArtifactError } from '../errors.js';

/** A conditional pointer read: 'unchanged' when the stored ETag still matches. */
export type PointerRead = { status: 'unchanged' } | { status: 'found'; text: string; etag: string | undefined };

export interface ReleaseBody {
  /** The .tar.gz bytes, read once; the caller consumes or destroys it. */
  body: Readable;
  /** Bytes the body will carry, when the store says. */
  size: number | undefined;
  etag: string | undefined;
}

export interface ArtifactStore {
  readonly bucket: string;
  /** The `s3://bucket/key` form used in every message. */
  url(key: string): string;
  /** Reads a pointer; with `etag`, answers 'unchanged' (without a body) when the object still has that ETag. */
  readPointer(key: string, etag?: string): Promise<PointerRead>;
  /**
   * Opens a release for streaming; with `range`, from byte `start` on, only if the object still has `etag`
   * (ReleaseChangedError otherwise).
   */
  openRelease(key: string, range?: { start: number; etag: string }): Promise<ReleaseBody>;
}

/** A conditional read found the object changed: it no longer has the ETag it was first read with. */
export class ReleaseChangedError extends ArtifactError {}
