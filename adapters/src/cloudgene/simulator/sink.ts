/** Line writer honouring back-pressure, optionally bgzipped (as tabix-ready VCF outputs are), so results stream to disk. */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createBgzfStream } from '../../vcf/bgzf';

export class TextSink {
  private readonly head: Writable;
  private readonly done: Promise<void>;
  private buffer = '';

  constructor(path: string, bgzip = false) {
    const file = createWriteStream(path);
    if (bgzip) {
      const z = createBgzfStream({ level: 6 });
      this.head = z;
      this.done = pipeline(z, file);
    } else {
      this.head = file;
      this.done = once(file, 'close').then(() => undefined);
    }
    this.done.catch(() => undefined);
  }

  /** Small writes are batched; the batch goes out with back-pressure respected. */
  async write(text: string): Promise<void> {
    this.buffer += text;
    if (this.buffer.length >= 64 * 1024) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.buffer === '') return;
    const chunk = this.buffer;
    this.buffer = '';
    if (!this.head.write(chunk)) await once(this.head, 'drain');
  }

  async close(): Promise<void> {
    await this.flush();
    this.head.end();
    await this.done;
  }
}
