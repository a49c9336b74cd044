/** FrameStream: what reaches the sink, and what the dispatcher hears back, per framing and ack mode. */
import { describe, expect, it } from 'vitest';
import { FrameStream, type FrameSink } from '../../src/delivery/frame-stream.js';
import type { SubscriberHooks } from '../../src/delivery/subscriber.js';

class Recorder implements FrameSink, SubscriberHooks {
  readonly written: string[] = [];
  readonly reports: string[] = [];
  push(frame: Uint8Array): void {
    this.written.push(`frame ${Buffer.from(frame).toString()}`);
  }
  pushChunk(chunk: Uint8Array): void {
    this.written.push(`chunk ${Buffer.from(chunk).toString()}`);
  }
  end(): void {
    this.written.push('end');
  }
  ack(events: number, bytes: number): void {
    this.reports.push(`ack ${events} ${bytes}`);
  }
  blocked(events: number, bytes: number): void {
    this.reports.push(`blocked ${events} ${bytes}`);
  }
  cancel(): void {
    this.reports.push('cancel');
  }
}

const bytes = (text: string): Uint8Array => Buffer.from(text);

describe('FrameStream', () => {
  it('explicit acks: each ack reports the cumulative frames and bytes pushed, once', () => {
    const r = new Recorder();
    const s = new FrameStream(1, r, r);
    s.push(bytes('a\n'), 1, 2);
    s.push(bytes('bb\n'), 1, 3);
    s.ack();
    s.ack();
    s.blocked(); // not this watch's mode: nothing
    expect(r.written).toEqual(['frame a\n', 'frame bb\n']);
    expect(r.reports).toEqual(['ack 2 5']);
  });

  it('acks by exception: silent while the consumer takes everything; blocked reports what was taken before; the next ack reports all', () => {
    const r = new Recorder();
    const s = new FrameStream(1, r, r, undefined, { acks: 'exception' });
    s.push(bytes('a\n'), 1, 2);
    s.ack();
    expect(r.reports).toEqual([]);
    s.push(bytes('bb\n'), 1, 3);
    s.blocked();
    s.blocked();
    s.push(bytes('c\n'), 1, 2);
    expect(r.reports).toEqual(['blocked 1 2']);
    s.ack();
    expect(r.reports).toEqual(['blocked 1 2', 'ack 3 7']);
    s.push(bytes('d\n'), 1, 2);
    s.ack();
    expect(r.reports).toEqual(['blocked 1 2', 'ack 3 7']);
  });

  it('chunked framing: dispatcher chunks go to pushChunk with their counts, the cacher’s own frames to push, held ones after the initial events', () => {
    const r = new Recorder();
    const s = new FrameStream(1, r, r, undefined, { framing: 'chunked', acks: 'exception' });
    s.beginInitial();
    s.pushInitial(bytes('i\n'));
    s.push(bytes('4\r\na\nb\n\r\n'), 2, 4);
    s.endInitial();
    s.blocked();
    expect(r.written).toEqual(['frame i\n', 'chunk 4\r\na\nb\n\r\n']);
    expect(r.reports).toEqual(['blocked 0 0']);
    s.ack();
    expect(r.reports).toEqual(['blocked 0 0', 'ack 2 4']);
  });
});
