import { describe, expect, it } from 'vitest';
import { RecordKind } from '../../src/ring/layout.js';
import { RingProducer } from '../../src/ring/producer.js';
import { RingReader } from '../../src/ring/reader.js';

function ring(): { producer: RingProducer; reader: RingReader } {
  const producer = new RingProducer({ segmentBytes: 1024 });
  return { producer, reader: new RingReader(producer.buffers) };
}

describe('waiting for a publish', () => {
  it('resolves "ok" when the producer publishes after the reader read the sequence', async () => {
    const { producer, reader } = ring();
    const seq = reader.publishSeq();
    const waiting = reader.waitForPublish(seq, 60_000);
    expect(waiting).toBeInstanceOf(Promise);
    producer.append({ kind: RecordKind.PROGRESS, rv: 7 });
    expect(reader.writePosition()).toBe(0); // appended only: nothing to wake for yet
    producer.publish();
    await expect(waiting).resolves.toBe('ok');
    expect(reader.publishSeq()).toBe(seq + 1);
    expect(reader.read(0)?.rv).toBe(7);
  });

  it('returns "not-equal" synchronously when a publish already happened (no lost wake-up)', () => {
    const { producer, reader } = ring();
    const seq = reader.publishSeq();
    // The publish lands between the reader's look at the ring and its wait.
    producer.append({ kind: RecordKind.PROGRESS, rv: 7 });
    producer.publish();
    expect(reader.waitForPublish(seq, 60_000)).toBe('not-equal');
  });

  it('returns "timed-out" synchronously for a zero timeout, and a promise of it otherwise', async () => {
    const { reader } = ring();
    const seq = reader.publishSeq();
    expect(reader.waitForPublish(seq, 0)).toBe('timed-out');
    await expect(reader.waitForPublish(seq, 5)).resolves.toBe('timed-out');
  });

  it('publish() with nothing appended neither bumps the sequence nor wakes anyone', () => {
    const { producer, reader } = ring();
    const seq = reader.publishSeq();
    expect(producer.publish()).toBe(0);
    expect(reader.publishSeq()).toBe(seq);
    expect(reader.waitForPublish(seq, 0)).toBe('timed-out');
  });

  it('one publish of a batch bumps the sequence once', () => {
    const { producer, reader } = ring();
    const seq = reader.publishSeq();
    for (let rv = 1; rv <= 5; rv++) producer.append({ kind: RecordKind.PROGRESS, rv });
    producer.publish();
    expect(reader.publishSeq()).toBe(seq + 1);
  });
});
