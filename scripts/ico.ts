/**
 * A Windows .ico container around PNG images (Windows Vista and later read PNG entries):
 * a 6-byte header (reserved 0, type 1 = icon, count), one 16-byte entry per image (width and
 * height with 0 meaning 256, colour count 0, reserved 0, planes 1, 32 bits per pixel, byte
 * size, offset), then the PNG files themselves.
 */
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface PngImage {
  readonly width: number;
  readonly height: number;
  readonly data: Buffer;
}

/** Width and height from a PNG's IHDR chunk. */
export function pngSize(data: Buffer): { width: number; height: number } {
  if (
    data.length < 24 ||
    !data.subarray(0, 8).equals(PNG_SIGNATURE) ||
    data.toString('latin1', 12, 16) !== 'IHDR'
  )
    throw new Error('not a PNG file');
  return { width: data.readUInt32BE(16), height: data.readUInt32BE(20) };
}

export function pngImage(data: Buffer): PngImage {
  return { ...pngSize(data), data };
}

export function writeIco(images: readonly PngImage[]): Buffer {
  if (images.length === 0 || images.length > 255) throw new Error('an .ico holds 1 to 255 images');
  const sorted = [...images].sort((a, b) => a.width - b.width);
  const header = Buffer.alloc(6);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2);
  header.writeUInt16LE(sorted.length, 4);
  const entries = Buffer.alloc(16 * sorted.length);
  let offset = header.length + entries.length;
  sorted.forEach((image, i) => {
    if (image.width < 1 || image.width > 256 || image.height < 1 || image.height > 256)
      throw new Error(`an .ico image must be 1–256 px, not ${image.width}×${image.height}`);
    const at = i * 16;
    entries.writeUInt8(image.width === 256 ? 0 : image.width, at);
    entries.writeUInt8(image.height === 256 ? 0 : image.height, at + 1);
    entries.writeUInt8(0, at + 2);
    entries.writeUInt8(0, at + 3);
    entries.writeUInt16LE(1, at + 4);
    entries.writeUInt16LE(32, at + 6);
    entries.writeUInt32LE(image.data.length, at + 8);
    entries.writeUInt32LE(offset, at + 12);
    offset += image.data.length;
  });
  return Buffer.concat([header, entries, ...sorted.map((image) => image.data)]);
}

export interface IcoEntry {
  readonly width: number;
  readonly height: number;
  readonly bitCount: number;
  readonly data: Buffer;
}

/** Reads an .ico back (for tests and checks). */
export function readIco(file: Buffer): IcoEntry[] {
  if (file.length < 6 || file.readUInt16LE(0) !== 0 || file.readUInt16LE(2) !== 1)
    throw new Error('not an .ico file');
  const count = file.readUInt16LE(4);
  const entries: IcoEntry[] = [];
  for (let i = 0; i < count; i++) {
    const at = 6 + i * 16;
    const size = file.readUInt32LE(at + 8);
    const offset = file.readUInt32LE(at + 12);
    if (offset + size > file.length) throw new Error(`.ico entry ${i} runs past the end of the file`);
    entries.push({
      width: file.readUInt8(at) || 256,
      height: file.readUInt8(at + 1) || 256,
      bitCount: file.readUInt16LE(at + 6),
      data: file.subarray(offset, offset + size),
    });
  }
  return entries;
}
