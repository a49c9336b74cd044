import { describe, expect, it } from 'vitest';
import { addChunks, type ChunkedWatcher } from '../../src/encode/http-chunks.js';

const frame = (text: string): Uint8Array => Buffer.from(text);
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');

describe('HTTP/1.1 chunks of a turn', () => {
  it('a chunk is hex(payload length) CRLF, the frames back to back, CRLF; the counts say frames and payload bytes', () => {
    const a = frame('{"type":"ADDED"}\n');
    const b = frame('{"type":"MODIFIED","object":{"x":"ü"}}\n');
    const ids: number[] = [];
    const refs: number[] = [];
    const buffers: Uint8Array[] = [];
    const counts = addChunks(ids, refs, buffers, [{ id: 7, out: [a, b] }]);
    const payload = a.byteLength + b.byteLength;
    expect(text(buffers[0]!)).toBe(`${payload.toString(16)}\r\n${text(a)}${text(b)}\r\n`);
    expect(counts).toEqual([2, payload]);
    expect(ids).toEqual([7]);
    expect(refs).toEqual([0]);
  });

  it('watchers with the same frames in the same order share one chunk; another sequence gets its own', () => {
    const a = frame('a\n');
    const b = frame('b\n');
    const watchers: ChunkedWatcher[] = [
      { id: 1, out: [a, b] },
      { id: 2, out: [a, b] },
      { id: 3, out: [b, a] },
      { id: 4, out: [a] },
      { id: 5, out: [a, b] },
    ];
    const ids: number[] = [];
    const refs: number[] = [];
    const buffers: Uint8Array[] = [frame('an earlier frame of the batch')];
    const counts = addChunks(ids, refs, buffers, watchers);
    expect(ids).toEqual([1, 2, 3, 4, 5]);
    expect(refs).toEqual([1, 1, 2, 3, 1]);
    expect(buffers.map(text).slice(1)).toEqual(['4\r\na\nb\n\r\n', '4\r\nb\na\n\r\n', '2\r\na\n\r\n']);
    expect(counts).toEqual([2, 4, 2, 4, 1, 2]);
  });

  it('equal bytes in different frame objects are a different sequence (frames are shared by identity, not compared)', () => {
    const refs: number[] = [];
    const buffers: Uint8Array[] = [];
    addChunks([], refs, buffers, [
      { id: 1, out: [frame('x\n')] },
      { id: 2, out: [frame('x\n')] },
    ]);
    expect(refs).toEqual([0, 1]);
  });

  it("empties each watcher's frames of the turn, so its array is reused next turn", () => {
    const w = { id: 1, out: [frame('a\n')] };
    addChunks([], [], [], [w]);
    expect(w.out).toEqual([]);
  });
});
