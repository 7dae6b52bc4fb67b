import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pngImage, pngSize, readIco, writeIco } from './ico.js';

/** A PNG header with an IHDR chunk claiming `size`×`size` (enough for the container). */
function fakePng(size: number, payload = 'x'): Buffer {
  const head = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
  const ihdr = Buffer.alloc(17);
  ihdr.write('IHDR', 0, 'latin1');
  ihdr.writeUInt32BE(size, 4);
  ihdr.writeUInt32BE(size, 8);
  return Buffer.concat([head, ihdr, Buffer.from(payload)]);
}

describe('ICO container', () => {
  it('header, one 16-byte entry per image (256 written as 0), payloads in order', () => {
    const images = [fakePng(256, 'big'), fakePng(16, 'small'), fakePng(32, 'mid')].map(pngImage);
    const ico = writeIco(images);
    assert.equal(ico.readUInt16LE(0), 0);
    assert.equal(ico.readUInt16LE(2), 1);
    assert.equal(ico.readUInt16LE(4), 3);
    assert.equal(ico.readUInt8(6), 16, 'sorted smallest first');
    assert.equal(ico.readUInt8(6 + 32), 0, '256 is stored as 0');
    assert.equal(ico.readUInt16LE(6 + 4), 1, 'planes');
    assert.equal(ico.readUInt16LE(6 + 6), 32, 'bits per pixel');
    assert.equal(ico.readUInt32LE(6 + 12), 6 + 3 * 16, 'the first image follows the directory');
    const back = readIco(ico);
    assert.deepEqual(
      back.map((e) => e.width),
      [16, 32, 256],
    );
    assert.deepEqual(
      back.map((e) => ['small', 'mid', 'big'].find((p) => e.data.toString('latin1').endsWith(p))),
      ['small', 'mid', 'big'],
      'each entry points at its own PNG',
    );
    assert.deepEqual(pngSize(back[2]!.data), { width: 256, height: 256 });
  });

  it('refuses what an .ico cannot hold', () => {
    assert.throws(() => writeIco([]), /1 to 255/);
    assert.throws(() => writeIco([pngImage(fakePng(512))]), /1–256 px/);
    assert.throws(() => pngSize(Buffer.from('not a png')), /not a PNG/);
  });
});
