// A multipart/form-data body whose file part is read from disk as it is sent, with its exact length up front.
// Node 20's fetch reads a Blob body (fs.openAsBlob included, inside a FormData or not) whole into memory before
// sending it; this body never holds more than one read buffer of the file, so a 2 GB recording costs no 2 GB.
import { randomBytes } from "node:crypto";
import fs from "node:fs";

export interface MultipartUpload {
  /** The value of the Content-Type header (with the boundary). */
  contentType: string;
  /** Bytes in the body: the fields, the file and the framing. */
  length: number;
  /** The body; the file is opened when it is first read and closed when it has been read (or the body is dropped). */
  body: AsyncIterable<Uint8Array>;
}

/** WHATWG's escaping of names in Content-Disposition: `"` CR LF percent-encoded. */
function quoted(name: string): string {
  return `"${name.replace(/"/g, "%22").replace(/\r/g, "%0D").replace(/\n/g, "%0A")}"`;
}

/**
 * The fields in order, then the file as the part named `fileField`. The file's size is read now (a file that
 * changes size while it is sent fails the upload rather than sending a body of the wrong length).
 */
export async function multipartUpload(fields: Array<[string, string]>, fileField: string, filePath: string, fileName: string): Promise<MultipartUpload> {
  const boundary = `----earshot-${randomBytes(12).toString("hex")}`;
  let head = "";
  for (const [name, value] of fields) head += `--${boundary}\r\nContent-Disposition: form-data; name=${quoted(name)}\r\n\r\n${value}\r\n`;
  head += `--${boundary}\r\nContent-Disposition: form-data; name=${quoted(fileField)}; filename=${quoted(fileName)}\r\nContent-Type: application/octet-stream\r\n\r\n`;
  const headBytes = Buffer.from(head);
  const tailBytes = Buffer.from(`\r\n--${boundary}--\r\n`);
  const { size } = await fs.promises.stat(filePath);
  async function* body(): AsyncGenerator<Uint8Array> {
    yield headBytes;
    let sent = 0;
    for await (const chunk of fs.createReadStream(filePath, { highWaterMark: 256 * 1024 })) {
      sent += (chunk as Buffer).length;
      if (sent > size) throw new Error(`${filePath} grew while it was being uploaded`);
      yield chunk as Buffer;
    }
    if (sent !== size) throw new Error(`${filePath} shrank while it was being uploaded`);
    yield tailBytes;
  }
  return { contentType: `multipart/form-data; boundary=${boundary}`, length: headBytes.length + size + tailBytes.length, body: body() };
}
